package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// Upload streams a file to the server (multipart/form-data, never held in
// memory) and returns the upload, to send with SendRequest.Attachments
// within 24 hours. kind may be empty (the content decides) or image,
// video, audio, file or gif; the type always comes from the bytes, not
// from name. Uploads are not retried: r is read once.
func (c *Client) Upload(ctx context.Context, kind, name string, r io.Reader) (*Media, error) {
	var fields [][2]string
	if kind != "" {
		fields = append(fields, [2]string{"kind", kind})
	}
	var out Media
	if err := c.postFile(ctx, "/media", fields, name, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// postFile streams a multipart/form-data body (fields first, then r as
// the part "file" named name) to path, never holding the file in
// memory, and decodes the JSON answer into out. It is not retried.
func (c *Client) postFile(ctx context.Context, path string, fields [][2]string, name string, r io.Reader, out any) error {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range fields {
				if err := mw.WriteField(f[0], f[1]); err != nil {
					return err
				}
			}
			if name == "" {
				name = "upload"
			}
			part, err := mw.CreateFormFile("file", name)
			if err != nil {
				return err
			}
			if _, err := io.Copy(part, r); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	resp, err := c.send(ctx, http.MethodPost, c.endpoint(path, nil), pr, mw.FormDataContentType())
	pr.Close() // stops the writer when the server answered early
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("parley: decode the answer to POST %s: %w", path, err)
	}
	return nil
}

// Download is a media file being read from the server. Close its Body.
type Download struct {
	Body io.ReadCloser
	// ContentType is the type the server detected from the bytes.
	ContentType string
	// Size is the length in bytes, or -1 when unknown.
	Size int64
	// Filename is the name the server suggests, if any.
	Filename string
}

// Download opens an attachment (or upload) by id. Members of its
// conversation may download it; anyone else gets not_found.
func (c *Client) Download(ctx context.Context, id string) (*Download, error) {
	return c.download(ctx, "/media/"+esc(id))
}

// Thumbnail opens an image's thumbnail (JPEG or PNG, at most 320 px).
func (c *Client) Thumbnail(ctx context.Context, id string) (*Download, error) {
	return c.download(ctx, "/media/"+esc(id)+"/thumbnail")
}

func (c *Client) download(ctx context.Context, path string) (*Download, error) {
	return c.downloadURL(ctx, c.endpoint(path, nil), path)
}

// downloadURL opens the file at the full URL u; path names it in errors.
func (c *Client) downloadURL(ctx context.Context, u, path string) (*Download, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("parley: %w", err)
	}
	c.authorize(req.Header)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &transportError{fmt.Errorf("parley: GET %s: %w", path, err)}
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, errorFrom(resp)
	}
	d := &Download{Body: resp.Body, ContentType: resp.Header.Get("Content-Type"), Size: resp.ContentLength}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		d.Filename = strings.TrimSpace(params["filename"])
	}
	return d, nil
}
