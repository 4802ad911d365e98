package main

import (
	"fmt"
	"time"
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
