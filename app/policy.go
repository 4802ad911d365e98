package app

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/channel"
)

// MessagingPolicy is what a business may send to a contact and when: the
// messaging window, the frequency cap of promotions, quiet hours and the
// STOP keywords. Its zero value is the default: no window (free-form
// messages at any time, as before the policy existed), at most 1
// promotional message per 7 days, no quiet hours, the default STOP words.
type MessagingPolicy struct {
	// WindowHours, when set, allows free-form business messages only
	// within that many hours of the contact's last message; outside it
	// only approved templates for topics the contact opted in to.
	WindowHours int `json:"window_hours"`
	// HumanAgentDays lets a person of the team (not a bot, an API token or
	// an automation) still reply that many days after the contact's last
	// message, when the window is closed (0: no such grace).
	HumanAgentDays int `json:"human_agent_days"`
	// PromoCap promotional messages per PromoCapDays days per contact
	// (defaults 1 and 7).
	PromoCap     int `json:"promo_cap"`
	PromoCapDays int `json:"promo_cap_days"`
	// QuietStart and QuietEnd ("21:00", "08:00") are the quiet hours in
	// the contact's time zone: promotional messages wait until they end.
	QuietStart string `json:"quiet_start,omitempty"`
	QuietEnd   string `json:"quiet_end,omitempty"`
	// TimeZone is the business's default zone for contacts without a
	// "timezone" attribute (default UTC).
	TimeZone string `json:"time_zone,omitempty"`
	// StopKeywords replace the default opt-out words (any case).
	StopKeywords []string `json:"stop_keywords,omitempty"`
	// StopReply confirms an opt-out, once.
	StopReply string `json:"stop_reply,omitempty"`
}

// DefaultStopKeywords opt a contact out of every topic of a business when
// a whole message is one of them, in any case.
var DefaultStopKeywords = []string{"STOP", "UNSUBSCRIBE", "STOPALL", "END", "QUIT", "CANCEL", "OPTOUT", "STOPP", "ARRÊT", "ARRET",
	"DÉSABONNER", "DESABONNER", "BAJA", "CANCELAR", "PARAR", "ABMELDEN", "AFMELDEN", "ANNULLA", "DISISCRIVITI"}

const defaultStopReply = "You are unsubscribed and will get no more promotional messages from us. Reply JOIN or use a subscription link to opt in again."

// Policy limits.
const (
	maxWindowHours    = 24 * 365
	maxHumanAgentDays = 365
	maxPromoCap       = 100
	maxStopKeywords   = 30
)

func (p *MessagingPolicy) validate() error {
	switch {
	case p.WindowHours < 0 || p.WindowHours > maxWindowHours:
		return parley.Invalid("messaging", "window_hours is between 0 (no window) and %d", maxWindowHours)
	case p.HumanAgentDays < 0 || p.HumanAgentDays > maxHumanAgentDays:
		return parley.Invalid("messaging", "human_agent_days is between 0 and %d", maxHumanAgentDays)
	case p.PromoCap < 0 || p.PromoCap > maxPromoCap:
		return parley.Invalid("messaging", "promo_cap is between 0 (the default, 1) and %d", maxPromoCap)
	case p.PromoCapDays < 0 || p.PromoCapDays > 365:
		return parley.Invalid("messaging", "promo_cap_days is between 0 (the default, 7) and 365")
	case (p.QuietStart == "") != (p.QuietEnd == ""):
		return parley.Invalid("messaging", "quiet_start and quiet_end go together")
	case len(p.StopKeywords) > maxStopKeywords || len(p.StopReply) > 1000:
		return parley.Invalid("messaging", "at most %d stop_keywords and 1000 characters of stop_reply", maxStopKeywords)
	}
	if p.QuietStart != "" {
		if _, err := clockMinutes(p.QuietStart); err != nil {
			return parley.Invalid("messaging", "quiet_start is HH:MM")
		}
		if _, err := clockMinutes(p.QuietEnd); err != nil {
			return parley.Invalid("messaging", "quiet_end is HH:MM")
		}
	}
	if p.TimeZone != "" {
		if _, err := zone(p.TimeZone); err != nil {
			return parley.Invalid("messaging", "time_zone %q is not a known IANA zone", p.TimeZone)
		}
	}
	for i, k := range p.StopKeywords {
		k = normalizeKeyword(k)
		if k == "" || len(k) > 40 {
			return parley.Invalid("messaging", "a stop keyword has 1 to 40 characters")
		}
		p.StopKeywords[i] = k
	}
	return nil
}

func (p *MessagingPolicy) cap() (int, time.Duration) {
	n, days := p.PromoCap, p.PromoCapDays
	if n == 0 {
		n = 1
	}
	if days == 0 {
		days = 7
	}
	return n, time.Duration(days) * 24 * time.Hour
}

func (p *MessagingPolicy) stopWords() []string {
	if len(p.StopKeywords) > 0 {
		return p.StopKeywords
	}
	return DefaultStopKeywords
}

// clockMinutes reads "HH:MM" as minutes after midnight.
func clockMinutes(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("not HH:MM")
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, fmt.Errorf("not HH:MM")
	}
	return h*60 + m, nil
}

var zones sync.Map // name -> *time.Location

// zone loads an IANA zone once.
func zone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, l)
	return l, nil
}

// quietUntil returns when the quiet hours that hold at now end in loc, or
// the zero time when now is not in them.
func (p *MessagingPolicy) quietUntil(now time.Time, loc *time.Location) time.Time {
	if p.QuietStart == "" {
		return time.Time{}
	}
	start, _ := clockMinutes(p.QuietStart)
	end, _ := clockMinutes(p.QuietEnd)
	if start == end {
		return time.Time{}
	}
	local := now.In(loc)
	min := local.Hour()*60 + local.Minute()
	var in bool
	if start < end {
		in = min >= start && min < end
	} else { // across midnight
		in = min >= start || min < end
	}
	if !in {
		return time.Time{}
	}
	day := local
	if start > end && min >= start {
		day = local.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), end/60, end%60, 0, 0, loc).UTC()
}

// sendClass is what the policy needs to know of a business message.
type sendClass struct {
	// template is the template it was made from (nil: free-form).
	template *parley.Template
	// automated: no person wrote it (away message, rule, confirmation).
	automated bool
	// campaign, when set, is the campaign recipient this message is for.
	campaign *campaignMark
	// params are the template's variable values, in order of first use
	// (WhatsApp fills its template's {{1}}, {{2}} ... with them).
	params []string
	// header and buttons are the template's WhatsApp header and button
	// parameters, filled in.
	header  *channel.TemplateHeader
	buttons []channel.TemplateButton
	// mode is the platform send mode the sender chose ("" for the first
	// that fits): a message tag, for instance (channel conversations).
	mode string
	// optin is the opt-in request of send mode optin_request.
	optin *OptinRequestView
}

// requested is the send mode the sender chose ("" none).
func (sc *sendClass) requested() string {
	if sc == nil {
		return ""
	}
	return sc.mode
}

// human reports whether a person of the team wrote the message from a
// signed-in device: not a bot, an API token or an automation.
func (sc *sendClass) human(actor *Actor) bool {
	if sc.automated || actor == nil || actor.Scopes != nil {
		return false
	}
	if actor.Agent != nil {
		return actor.Agent.Kind == parley.KindPerson
	}
	return actor.User.Kind == parley.KindBusiness
}

func policyErr(code string, retry time.Duration, format string, args ...any) error {
	return &parley.Error{Code: code, Message: fmt.Sprintf(format, args...), RetryAfter: retry}
}

// checkPolicy is the one check every message a business sends to a
// contact passes, whoever sends it (an agent, the API, a bot, a rule, a
// campaign), inside the transaction that stores the message: consent and
// the frequency cap and quiet hours for promotions, the messaging window
// for everything. A promotional message that passes is counted against
// the cap in the same transaction.
func (a *App) checkPolicy(w *writer, it *parley.InboxItem, st *BusinessSettings, actor *Actor, sc *sendClass) error {
	return a.checkPolicyFrom(w, txPolicy{w}, it, st, actor, sc)
}

// policyReads is what the policy reads of a contact, in the transaction
// that stores the message, and where it counts a promotion against the
// cap: row by row for one send (txPolicy), or from set reads made once
// for a chunk of campaign recipients, the caps written for the chunk
// together (chunkPolicy in campaign_batch.go). The decisions are
// checkPolicyFrom's either way.
type policyReads interface {
	// reach is the contact's policy state, ENotFound when it has none.
	reach(businessID, contactID string) (*parley.Reach, error)
	// putReach saves a contact's policy state in this transaction (at
	// the latest before it commits).
	putReach(r *parley.Reach) error
	template(businessID, id string) (*parley.Template, error)
	topic(businessID, id string) (*parley.Topic, error)
	// optedIn reports whether the contact opted in to the topic.
	optedIn(businessID, contactID, topicID string) (bool, error)
	contact(businessID, id string) (*parley.Contact, error)
}

// txPolicy reads the policy's rows one by one.
type txPolicy struct{ tx parley.Tx }

func (r txPolicy) reach(b, c string) (*parley.Reach, error)        { return r.tx.Reach(b, c) }
func (r txPolicy) putReach(v *parley.Reach) error                  { return r.tx.PutReach(v) }
func (r txPolicy) template(b, id string) (*parley.Template, error) { return r.tx.Template(b, id) }
func (r txPolicy) topic(b, id string) (*parley.Topic, error)       { return r.tx.Topic(b, id) }
func (r txPolicy) contact(b, id string) (*parley.Contact, error)   { return r.tx.Contact(b, id) }

func (r txPolicy) optedIn(b, c, topicID string) (bool, error) {
	consents, err := r.tx.Consents(b, c)
	if err != nil {
		return false, err
	}
	for _, c := range consents {
		if c.TopicID == topicID {
			return c.OptedIn, nil
		}
	}
	return false, nil
}

// checkPolicyFrom is checkPolicy reading through src.
func (a *App) checkPolicyFrom(w *writer, src policyReads, it *parley.InboxItem, st *BusinessSettings, actor *Actor, sc *sendClass) error {
	p := &st.Messaging
	promo := sc.template != nil && sc.template.TopicID != ""
	if sc.template == nil && p.WindowHours == 0 {
		return nil // the common case reads nothing more
	}
	r, err := src.reach(it.BusinessID, it.ContactID)
	if parley.IsNotFound(err) {
		r = &parley.Reach{BusinessID: it.BusinessID, ContactID: it.ContactID}
	} else if err != nil {
		return err
	}
	if sc.template != nil {
		// The template is read again here: an approval withdrawn after
		// the text was rendered counts.
		tp, err := src.template(it.BusinessID, sc.template.ID)
		if parley.IsNotFound(err) {
			return parley.Invalid("template", "the template was deleted")
		} else if err != nil {
			return err
		}
		if tp.Status != parley.TemplateApproved {
			return parley.Invalid("template", "template %q is not approved; an admin approves templates before they are sent", tp.Name)
		}
		sc.template = tp
		promo = tp.TopicID != ""
	}
	if promo {
		if err := a.checkPromoFrom(w, src, it, p, r, sc.template); err != nil {
			return err
		}
	}
	if p.WindowHours > 0 {
		since := w.now.Sub(r.LastInboundAt)
		open := !r.LastInboundAt.IsZero() && since < time.Duration(p.WindowHours)*time.Hour
		switch {
		case open:
		case promo:
			// An approved template of a topic the contact opted in to.
		case sc.human(actor) && p.HumanAgentDays > 0 && !r.LastInboundAt.IsZero() && since < time.Duration(p.HumanAgentDays)*24*time.Hour:
		default:
			why := "the contact has never written to you"
			if !r.LastInboundAt.IsZero() {
				why = "the contact last wrote " + r.LastInboundAt.Format(time.RFC3339)
			}
			extra := ""
			if p.HumanAgentDays > 0 {
				extra = fmt.Sprintf(", or a reply written by a person of your team within %d days", p.HumanAgentDays)
			}
			return policyErr(parley.EWindowClosed, 0, "the %d-hour messaging window is closed (%s); only an approved template for a topic the contact opted in to can be sent now%s",
				p.WindowHours, why, extra)
		}
	}
	if promo {
		n, period := p.cap()
		r.Promos = append(recentPromos(r.Promos, w.now, period), w.now)
		if len(r.Promos) > n {
			r.Promos = r.Promos[len(r.Promos)-n:]
		}
		return src.putReach(r)
	}
	return nil
}

// checkPromo applies consent, the frequency cap and quiet hours to a
// promotional message.
func (a *App) checkPromo(w *writer, it *parley.InboxItem, p *MessagingPolicy, r *parley.Reach, tp *parley.Template) error {
	return a.checkPromoFrom(w, txPolicy{w}, it, p, r, tp)
}

// checkPromoFrom is checkPromo reading through src.
func (a *App) checkPromoFrom(w *writer, src policyReads, it *parley.InboxItem, p *MessagingPolicy, r *parley.Reach, tp *parley.Template) error {
	topic, err := src.topic(it.BusinessID, tp.TopicID)
	if parley.IsNotFound(err) {
		return policyErr(parley.ENoConsent, 0, "the template's topic was deleted, so no contact has opted in to it")
	} else if err != nil {
		return err
	}
	if r.StoppedAt != nil {
		return policyErr(parley.ENoConsent, 0, "the contact opted out of all promotional messages (STOP) on %s", r.StoppedAt.Format(time.RFC3339))
	}
	in, err := src.optedIn(it.BusinessID, it.ContactID, topic.ID)
	if err != nil {
		return err
	}
	if !in {
		return policyErr(parley.ENoConsent, 0, "the contact has not opted in to %q", topic.Name)
	}
	n, period := p.cap()
	if recent := recentPromos(r.Promos, w.now, period); len(recent) >= n {
		wait := recent[len(recent)-n].Add(period).Sub(w.now)
		return policyErr(parley.EFrequencyCap, wait, "the contact already had %d promotional message(s) in the last %d days (the cap); the next may go after %s",
			len(recent), int(period/(24*time.Hour)), w.now.Add(wait).Format(time.RFC3339))
	}
	if p.QuietStart != "" {
		loc, name, err := a.contactZone(src, it, p)
		if err != nil {
			return err
		}
		if until := p.quietUntil(w.now, loc); !until.IsZero() {
			return policyErr(parley.EQuietHours, until.Sub(w.now), "it is quiet hours (%s–%s) in the contact's time zone (%s); promotional messages wait until %s",
				p.QuietStart, p.QuietEnd, name, until.Format(time.RFC3339))
		}
	}
	return nil
}

// contactZone is the contact's "timezone" attribute, else the business's
// default, else UTC.
func (a *App) contactZone(src policyReads, it *parley.InboxItem, p *MessagingPolicy) (*time.Location, string, error) {
	name := p.TimeZone
	ct, err := src.contact(it.BusinessID, it.ContactID)
	if err != nil && !parley.IsNotFound(err) {
		return nil, "", err
	}
	if ct != nil {
		for _, k := range []string{"timezone", "time_zone", "tz"} {
			if v := strings.TrimSpace(ct.Attributes[k]); v != "" {
				if _, err := zone(v); err == nil {
					name = v
					break
				}
			}
		}
	}
	if name == "" {
		name = "UTC"
	}
	loc, err := zone(name)
	if err != nil {
		return time.UTC, "UTC", nil
	}
	return loc, name, nil
}

// recentPromos keeps the promotion times within period before now.
func recentPromos(ps []time.Time, now time.Time, period time.Duration) []time.Time {
	out := ps[:0:0]
	for _, t := range ps {
		if now.Sub(t) < period {
			out = append(out, t)
		}
	}
	return out
}
