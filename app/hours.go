package app

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // business hours name IANA zones; do not depend on the host's zoneinfo

	"github.com/parleyhq/parley"
)

// Hours are business hours: open intervals per weekday in a time zone,
// minus holidays. The zero value (no days) means always open.
type Hours struct {
	// TimeZone is an IANA zone name such as "Europe/Berlin".
	TimeZone string `json:"time_zone"`
	// Days maps "mon".."sun" to intervals like "09:00-17:30". A day not
	// listed is closed; "00:00-24:00" is the whole day.
	Days map[string][]string `json:"days"`
	// Holidays are closed dates, "2026-12-25", in the zone.
	Holidays []string `json:"holidays,omitempty"`

	loc      *time.Location
	days     [7][]span
	holidays map[string]bool
}

type span struct{ from, to int } // minutes since local midnight

var dayNames = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// compile validates h and prepares it for IsOpen; field names the setting
// in errors.
func (h *Hours) compile(field string) error {
	if h == nil {
		return nil
	}
	if len(h.Days) == 0 {
		return parley.Invalid(field, "business hours list at least one day, e.g. {\"mon\": [\"09:00-17:00\"]}")
	}
	loc, err := time.LoadLocation(h.TimeZone)
	if err != nil || h.TimeZone == "" || strings.EqualFold(h.TimeZone, "local") {
		return parley.Invalid(field, "time_zone %q is not an IANA zone name such as Europe/Berlin", h.TimeZone)
	}
	h.loc = loc
	h.days = [7][]span{}
	for name, ivs := range h.Days {
		wd, ok := dayNames[strings.ToLower(name)]
		if !ok {
			return parley.Invalid(field, "day %q is not one of mon, tue, wed, thu, fri, sat, sun", name)
		}
		if len(ivs) > 8 {
			return parley.Invalid(field, "at most 8 intervals per day")
		}
		for _, iv := range ivs {
			s, err := parseSpan(iv)
			if err != nil {
				return parley.Invalid(field, "%s: %v", name, err)
			}
			h.days[wd] = append(h.days[wd], s)
		}
	}
	if len(h.Holidays) > 400 {
		return parley.Invalid(field, "at most 400 holidays")
	}
	h.holidays = map[string]bool{}
	for _, d := range h.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return parley.Invalid(field, "holiday %q is not a date like 2026-12-25", d)
		}
		h.holidays[d] = true
	}
	return nil
}

func parseSpan(s string) (span, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return span{}, fmt.Errorf("interval %q is not like 09:00-17:00", s)
	}
	f, err1 := parseClock(from)
	t, err2 := parseClock(to)
	if err1 != nil || err2 != nil || f >= t {
		return span{}, fmt.Errorf("interval %q is not like 09:00-17:00 (start before end)", s)
	}
	return span{f, t}, nil
}

func parseClock(s string) (int, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// IsOpen reports whether t falls in business hours. Wall-clock intervals
// follow the zone's daylight saving time: 09:00 is 09:00 local on both
// sides of a change.
func (h *Hours) IsOpen(t time.Time) bool {
	if h == nil || h.loc == nil {
		return true
	}
	lt := t.In(h.loc)
	if h.holidays[lt.Format(time.DateOnly)] {
		return false
	}
	min := lt.Hour()*60 + lt.Minute()
	for _, s := range h.days[lt.Weekday()] {
		if min >= s.from && min < s.to {
			return true
		}
	}
	return false
}

// openBetween reports whether the business was open at any moment in
// (from, to]. It walks the local days in between, so its cost is bounded by
// the length of the range in days, capped at two weeks (any longer range
// with one open day a week is open).
func (h *Hours) openBetween(from, to time.Time) bool {
	if h == nil || h.loc == nil {
		return true
	}
	if !to.After(from) {
		return false
	}
	if to.Sub(from) > 15*24*time.Hour {
		from = to.Add(-15 * 24 * time.Hour)
	}
	lf, lt := from.In(h.loc), to.In(h.loc)
	day := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, h.loc)
	for !day.After(lt) {
		if !h.holidays[day.Format(time.DateOnly)] {
			for _, s := range h.days[day.Weekday()] {
				// time.Date normalises minutes past midnight across DST.
				start := time.Date(day.Year(), day.Month(), day.Day(), 0, s.from, 0, 0, h.loc)
				end := time.Date(day.Year(), day.Month(), day.Day(), 0, s.to, 0, 0, h.loc)
				if start.Before(to) && end.After(from) {
					return true
				}
			}
		}
		day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, h.loc)
	}
	return false
}
