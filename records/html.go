package records

import (
	"html/template"
	"io"
	"strings"
)

// The transcript is static HTML: html/template escapes every value, the
// page loads nothing but the export's own media, and its content security
// policy forbids scripts.
const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#111}
.m{margin:.6rem 0;padding:.5rem .7rem;border-radius:.5rem;background:#f2f2f5}
.meta{color:#555;font-size:.8rem}.t{white-space:pre-wrap;overflow-wrap:anywhere}
.gone{color:#777;font-style:italic}.sys{color:#555;font-style:italic;background:none}
img,video{max-width:100%;height:auto;border-radius:.3rem}
</style></head><body>
`

var funcs = template.FuncMap{
	"rel":     func(p string) string { return "../../" + p },
	"isImage": func(t string) bool { return strings.HasPrefix(t, "image/") },
	"isVideo": func(t string) bool { return strings.HasPrefix(t, "video/") },
	"isAudio": func(t string) bool { return strings.HasPrefix(t, "audio/") },
}

var transcriptTmpl = template.Must(template.New("t").Funcs(funcs).Parse(pageHead + `<h1>{{.Title}}</h1>
<p class="meta">{{.C.Kind}} conversation {{.C.ID}}, as {{.C.Viewer.Handle}} saw it. Members:
{{range $i, $m := .C.Members}}{{if $i}}, {{end}}{{$m.DisplayName}} (@{{$m.Handle}}, {{$m.Status}}){{end}}.</p>
{{range .C.Messages}}<div class="m{{if .System}} sys{{end}}" id="seq-{{.Seq}}">
<div class="meta">#{{.Seq}} · {{.Sender.DisplayName}} (@{{.Sender.Handle}}) · {{.CreatedAt.Format "2006-01-02 15:04:05 UTC"}}{{if .EditedAt}} · edited{{end}}</div>
{{if .Hidden}}<div class="gone">This message was hidden by a moderator; its content hash stays in the chain.</div>
{{else if .Purged}}<div class="gone">This message was removed{{if .DeletedAt}} on {{.DeletedAt.Format "2006-01-02 15:04 UTC"}}{{end}}; its content hash stays in the chain.</div>
{{else}}{{if .System}}<div class="t">{{.System}}</div>{{end}}{{if .Text}}<div class="t">{{.Text}}</div>{{end}}
{{range .Attachments}}{{$src := rel .File}}{{if isImage .ContentType}}<div><img src="{{$src}}" alt="image {{.SHA256}}"></div>
{{else if isVideo .ContentType}}<div><video controls src="{{$src}}"></video></div>
{{else if isAudio .ContentType}}<div><audio controls src="{{$src}}"></audio></div>
{{else}}<div><a href="{{$src}}">{{.ContentType}}, {{.Size}} bytes</a></div>{{end}}{{end}}
{{range .Versions}}<div class="meta">earlier version (replaced {{.ReplacedAt.Format "2006-01-02 15:04 UTC"}}): <span class="t">{{.Text}}</span></div>{{end}}
{{end}}</div>
{{end}}</body></html>
`))

func title(c *Conversation) string {
	if c.Title != "" {
		return c.Title
	}
	var names []string
	for _, m := range c.Members {
		names = append(names, m.DisplayName)
	}
	if len(names) == 0 {
		return "Conversation " + c.ID
	}
	return strings.Join(names, ", ")
}

func writeTranscript(w io.Writer, c *Conversation) error {
	return transcriptTmpl.Execute(w, struct {
		Title string
		C     *Conversation
	}{title(c), c})
}

var indexTmpl = template.Must(template.New("i").Parse(pageHead + `<h1>{{.Title}}</h1>
<p class="meta">Exported {{.M.CreatedAt.Format "2006-01-02 15:04 UTC"}} for @{{.M.Exporter.Handle}}{{if .M.Business}} (business @{{.M.Business.Handle}}){{end}}.
Signed with the Ed25519 key {{.M.KeyFingerprint}}; check it with <code>parley verify</code> (see manifest.json).</p>
<ul>{{range .Convs}}<li><a href="conversations/{{.ID}}/transcript.html">{{.Title}}</a> — {{.Messages}} messages</li>{{end}}</ul>
</body></html>
`))

func writeIndex(w io.Writer, m *Manifest, convs []indexRow) error {
	return indexTmpl.Execute(w, struct {
		Title string
		M     *Manifest
		Convs []indexRow
	}{"Parley export", m, convs})
}
