package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/app"
)

// uploadSlack is what a multipart body may carry besides the file: part
// headers, the kind field, boundaries.
const uploadSlack = 64 << 10

// upload takes a multipart body with a "file" part (and optionally a
// "kind" part before it, or ?kind=), streaming the file to the app, which
// writes it to disk as it arrives.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	kind := r.URL.Query().Get("kind")
	return multipartFile(w, r, s.app.MaxUploadBytes(), map[string]*string{"kind": &kind}, func(file io.Reader) error {
		v, err := s.app.Upload(r.Context(), actor, parley.MessageKind(kind), file)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, v)
	})
}

// maxFormField caps a text field sent beside a file.
const maxFormField = 64

// multipartFile reads a multipart/form-data body of short text fields
// followed by a part named "file", which it hands to use as a stream (the
// fields must come first: the file is never buffered to wait for them).
// fields names the text fields taken and receives their values. The body
// may carry at most limit bytes of file.
func multipartFile(w http.ResponseWriter, r *http.Request, limit int64, fields map[string]*string, use func(file io.Reader) error) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit+uploadSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		return parley.Errorf(parley.EMalformed, "send multipart/form-data with the file in a part named file")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return parley.Invalid("file", "no part named file")
		} else if err != nil {
			return bodyErr(err)
		}
		name := part.FormName()
		if name == "file" {
			return use(bodyReader{part})
		}
		if dst, ok := fields[name]; ok {
			b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
			if err != nil {
				return bodyErr(err)
			}
			if len(b) > maxFormField {
				return parley.Invalid(name, "%s has at most %d bytes", name, maxFormField)
			}
			*dst = strings.TrimSpace(string(b))
		}
		part.Close()
	}
}

// bodyReader turns a body over its limit into a client error.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = bodyErr(err)
	}
	return n, err
}

func bodyErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return parley.Errorf(parley.ETooLarge, "the upload is larger than %d bytes", mbe.Limit-uploadSlack)
	}
	return parley.Errorf(parley.EMalformed, "the multipart body is cut short or malformed")
}

// download serves an upload or its thumbnail, with range requests, as an
// attachment unless it is an image, audio or video, and always sandboxed:
// a file can never run script in Parley's origin.
func (s *Server) download(thumb bool) authed {
	return func(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
		f, err := s.app.OpenMedia(r.Context(), actor, r.PathValue("id"), thumb)
		if err != nil {
			return err
		}
		defer f.Close()
		serveFile(w, r, f)
		return nil
	}
}

// serveFile serves a media file with the headers that keep it inert.
func serveFile(w http.ResponseWriter, r *http.Request, f *app.MediaFile) {
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; media-src 'self'")
	// Revalidated every time (a cheap 304), so that an unsend or a
	// removal from the group takes effect on the next view.
	h.Set("Cache-Control", "private, no-cache")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	disp := "attachment"
	if f.Inline {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": f.Name}))
	http.ServeContent(w, r, f.Name, f.ModTime(), f)
}

func (s *Server) listStickerPacks(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	packs, err := s.app.StickerPacks(r.Context(), actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": packs})
}

func (s *Server) createStickerPack(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	p, err := s.app.CreateStickerPack(r.Context(), actor, in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, p)
}

func (s *Server) deleteStickerPack(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if err := s.app.DeleteStickerPack(r.Context(), actor, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// addSticker takes multipart parts "emoji" (optional, first) and "file".
func (s *Server) addSticker(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	if !s.app.IsAdmin(actor) {
		return parley.Errorf(parley.EForbidden, "only administrators manage sticker packs")
	}
	var emoji string
	return multipartFile(w, r, app.MaxStickerBytes, map[string]*string{"emoji": &emoji}, func(file io.Reader) error {
		v, err := s.app.AddSticker(r.Context(), actor, r.PathValue("id"), emoji, file)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, v)
	})
}

func (s *Server) stickerImage(w http.ResponseWriter, r *http.Request, actor *app.Actor) error {
	f, err := s.app.OpenSticker(r.Context(), actor, r.PathValue("id"))
	if err != nil {
		return err
	}
	defer f.Close()
	serveFile(w, r, f)
	return nil
}
