package app

import (
	"context"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// CampaignAttribution is how long after a campaign's message a contact's
// reply or opt-out is put down to it.
const CampaignAttribution = 7 * 24 * time.Hour

// campaignBuckets are the widths a campaign's series comes in.
var campaignBuckets = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}

// maxCampaignPoints bounds a series: the automatic bucket keeps it under
// a hundred points, an asked-for one may not pass this.
const maxCampaignPoints = 1000

// CampaignPoint is what happened to a campaign's recipients in one bucket
// of time (At its start), or over the whole campaign (At nil).
type CampaignPoint struct {
	At        *time.Time     `json:"at,omitempty"`
	Sent      int            `json:"sent"`
	Delivered int            `json:"delivered"`
	Read      int            `json:"read"`
	Replied   int            `json:"replied"`
	OptedOut  int            `json:"opted_out"`
	Failed    int            `json:"failed"`
	Skipped   map[string]int `json:"skipped"`
}

func (p *CampaignPoint) add(b *parley.CampaignActivity) {
	p.Sent += b.Sent
	p.Delivered += b.Delivered
	p.Read += b.Read
	p.Replied += b.Replied
	p.OptedOut += b.OptedOut
	p.Failed += b.Failed
	for k, n := range b.Skipped {
		p.Skipped[k] += n
	}
}

// CampaignStats is a campaign's outcome: totals and the same counts over
// time, one point per bucket from the first to the last with activity.
type CampaignStats struct {
	Campaign string `json:"campaign"`
	Status   string `json:"status"`
	// Total recipients, and those still Pending.
	Total   int `json:"total"`
	Pending int `json:"pending"`
	// BucketSeconds is the width of a point of Series; AttributionHours
	// how long after its message a reply or opt-out counts.
	BucketSeconds    int             `json:"bucket_seconds"`
	AttributionHours int             `json:"attribution_hours"`
	Totals           CampaignPoint   `json:"totals"`
	Series           []CampaignPoint `json:"series"`
}

// CampaignStats counts what happened to a campaign's recipients: sent,
// skipped by reason, failed, and of the messages sent, how many were
// delivered, read, replied to and followed by an opt-out of the topic (or
// STOP) within CampaignAttribution; in total and per bucket of time.
// bucket 0 picks the smallest width that keeps the series under a
// hundred points; any team member may read them.
func (a *App) CampaignStats(ctx context.Context, ba *BusinessActor, id string, bucket time.Duration) (*CampaignStats, error) {
	if bucket != 0 && !slices.Contains(campaignBuckets, bucket) {
		return nil, parley.Invalid("bucket", "bucket is 60, 300, 900, 3600, 21600 or 86400 seconds")
	}
	var out *CampaignStats
	err := a.view(ctx, func(tx parley.Tx) error {
		c, err := tx.Campaign(ba.Business.ID, id)
		if err != nil {
			return err
		}
		v, err := campaignView(tx, c)
		if err != nil {
			return err
		}
		out = &CampaignStats{Campaign: c.ID, Status: c.Status, Total: v.Total, Pending: v.Pending,
			AttributionHours: int(CampaignAttribution / time.Hour), Totals: CampaignPoint{Skipped: map[string]int{}}, Series: []CampaignPoint{}}
		if bucket == 0 {
			bucket = autoBucket(c, a.clock())
		}
		out.BucketSeconds = int(bucket / time.Second)
		bs, err := tx.CampaignActivity(parley.CampaignActivityQuery{BusinessID: c.BusinessID, CampaignID: c.ID, TopicID: c.TopicID,
			Bucket: bucket, Window: CampaignAttribution})
		if err != nil || len(bs) == 0 {
			return err
		}
		first, last := bs[0].At, bs[len(bs)-1].At
		if n := int(last.Sub(first)/bucket) + 1; n > maxCampaignPoints {
			return parley.Invalid("bucket", "%d points at this bucket; at most %d: ask for a wider one", n, maxCampaignPoints)
		}
		i := 0
		for t := first; !t.After(last); t = t.Add(bucket) {
			at := t
			p := CampaignPoint{At: &at, Skipped: map[string]int{}}
			if i < len(bs) && bs[i].At.Equal(t) {
				p.add(bs[i])
				out.Totals.add(bs[i])
				i++
			}
			out.Series = append(out.Series, p)
		}
		return nil
	})
	return out, err
}

// autoBucket is the smallest width that shows the campaign's life — from
// its start until its last message's attribution window closes, or now —
// in at most a hundred points.
func autoBucket(c *parley.Campaign, now time.Time) time.Duration {
	start := c.CreatedAt
	if c.StartedAt != nil {
		start = *c.StartedAt
	}
	end := now
	if c.EndedAt != nil && c.EndedAt.Add(CampaignAttribution).Before(end) {
		end = c.EndedAt.Add(CampaignAttribution)
	}
	span := end.Sub(start)
	for _, b := range campaignBuckets {
		if span/b < 100 {
			return b
		}
	}
	return campaignBuckets[len(campaignBuckets)-1]
}
