package client

import (
	"context"
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
