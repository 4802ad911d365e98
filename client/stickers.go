package client

import (
	"context"
	"io"
	"net/http"
)

// CreateStickerPack creates an empty sticker pack (server admins).
func (c *Client) CreateStickerPack(ctx context.Context, name string) (*StickerPack, error) {
	var out StickerPack
	_, err := c.call(ctx, http.MethodPost, "/sticker-packs", nil, map[string]string{"name": name}, &out)
	return ret(&out, err)
}

// DeleteStickerPack deletes a sticker pack (server admins).
func (c *Client) DeleteStickerPack(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/sticker-packs/"+esc(id), nil, nil)
}

// StickerImage opens a sticker's image; the caller closes its Body.
func (c *Client) StickerImage(ctx context.Context, id string) (*Download, error) {
	return c.download(ctx, "/stickers/"+esc(id)+"/image")
}

// AddSticker adds an image (PNG, WebP or GIF, at most 512 KB and
// 1024×1024 pixels) to a pack, with an optional emoji (server admins).
// r is streamed, read once.
func (c *Client) AddSticker(ctx context.Context, packID, emoji, name string, r io.Reader) (*Sticker, error) {
	var fields [][2]string
	if emoji != "" {
		fields = append(fields, [2]string{"emoji", emoji})
	}
	var out Sticker
	if err := c.postFile(ctx, "/sticker-packs/"+esc(packID)+"/stickers", fields, name, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
