package postgres

import (
	"fmt"

	"github.com/parleyhq/parley"
)

const stickerCols = `id, pack_id, emoji, content_type, size, width, height, blob_key, position, created_at`

func scanSticker(s interface{ Scan(...any) error }) (*parley.Sticker, error) {
	var st parley.Sticker
	var created int64
	if err := s.Scan(&st.ID, &st.PackID, &st.Emoji, &st.ContentType, &st.Size, &st.Width, &st.Height, &st.BlobKey, &st.Position, &created); err != nil {
		return nil, err
	}
	st.CreatedAt = fromNanos(created)
	return &st, nil
}

// CreateStickerPack implements parley.StickerTx.
func (t *tx) CreateStickerPack(p *parley.StickerPack) error {
	if _, err := t.guarded(`INSERT INTO sticker_packs (id, name, created_by, created_at) VALUES (?, ?, ?, ?)`,
		p.ID, p.Name, p.CreatedBy, toNanos(p.CreatedAt)); err != nil {
		if isUnique(err) {
			return parley.Errorf(parley.EConflict, "sticker pack %s exists", p.ID)
		}
		return fmt.Errorf("create sticker pack: %w", err)
	}
	return nil
}

// StickerPacks implements parley.StickerTx.
func (t *tx) StickerPacks() ([]*parley.StickerPack, error) {
	rows, err := t.query(`SELECT id, name, created_by, created_at FROM sticker_packs ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sticker packs: %w", err)
	}
	var packs []*parley.StickerPack
	byID := map[string]*parley.StickerPack{}
	for rows.Next() {
		var p parley.StickerPack
		var created int64
		if err := rows.Scan(&p.ID, &p.Name, &p.CreatedBy, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan sticker pack: %w", err)
		}
		p.CreatedAt = fromNanos(created)
		packs = append(packs, &p)
		byID[p.ID] = &p
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sticker packs: %w", err)
	}
	srows, err := t.query(`SELECT ` + stickerCols + ` FROM stickers ORDER BY pack_id, position`)
	if err != nil {
		return nil, fmt.Errorf("stickers: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		st, err := scanSticker(srows)
		if err != nil {
			return nil, fmt.Errorf("scan sticker: %w", err)
		}
		if p := byID[st.PackID]; p != nil {
			p.Stickers = append(p.Stickers, st)
		}
	}
	return packs, srows.Err()
}

// CreateSticker implements parley.StickerTx.
func (t *tx) CreateSticker(s *parley.Sticker) error {
	var n int
	if err := t.queryRow(`SELECT COUNT(*) FROM sticker_packs WHERE id = ?`, s.PackID).Scan(&n); err != nil {
		return fmt.Errorf("create sticker: %w", err)
	}
	if n == 0 {
		return notFound("sticker pack")
	}
	if err := t.queryRow(`SELECT COALESCE(MAX(position) + 1, 0) FROM stickers WHERE pack_id = ?`, s.PackID).Scan(&s.Position); err != nil {
		return fmt.Errorf("create sticker: %w", err)
	}
	if _, err := t.exec(`INSERT INTO stickers (`+stickerCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		s.ID, s.PackID, s.Emoji, s.ContentType, s.Size, s.Width, s.Height, s.BlobKey, s.Position, toNanos(s.CreatedAt)); err != nil {
		return fmt.Errorf("create sticker: %w", err)
	}
	return nil
}

// StickerByID implements parley.StickerTx.
func (t *tx) StickerByID(id string) (*parley.Sticker, error) {
	st, err := scanSticker(t.queryRow(`SELECT `+stickerCols+` FROM stickers WHERE id = ?`, id))
	if err != nil {
		return nil, rowErr(err, "sticker")
	}
	return st, nil
}

// DeleteStickerPack implements parley.StickerTx.
func (t *tx) DeleteStickerPack(id string) error {
	if _, err := t.exec(`DELETE FROM stickers WHERE pack_id = ?`, id); err != nil {
		return fmt.Errorf("delete stickers: %w", err)
	}
	res, err := t.exec(`DELETE FROM sticker_packs WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete sticker pack: %w", err)
	}
	return mustAffect(res, "sticker pack")
}
