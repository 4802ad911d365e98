package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley/app"
)

// applyDeletionPolicy sets accounts.deletion: erase or anonymise.
func applyDeletionPolicy(s *settings, v string) error {
	if v != "erase" && v != "anonymise" {
		return fmt.Errorf("%q is not a deletion policy; write erase or anonymise", v)
	}
	s.Server.App.Deletion.Policy = v
	return nil
}

// applyHandleReserve sets accounts.handle_reserve_days; 0 releases a
// deleted account's handle at once.
func applyHandleReserve(s *settings, v string) error {
	if err := parseDays(v, &s.Server.App.Deletion.HandleReserve); err != nil {
		return err
	}
	if s.Server.App.Deletion.HandleReserve == 0 {
		s.Server.App.Deletion.HandleReserve = time.Nanosecond // the app's 0 means the default
	}
	return nil
}

// applyPhoneRegion sets guard.phone_region after checking the region is
// one libphonenumber knows.
func applyPhoneRegion(s *settings, v string) error {
	v = strings.ToUpper(strings.TrimSpace(v))
	if v == "" {
		v = "US"
	}
	if !app.ValidPhoneRegion(v) {
		return fmt.Errorf("%q is not a region with phone numbers; write an ISO 3166 code such as US, GB or DE", v)
	}
	s.Server.App.PhoneRegion = v
	return nil
}
