package postgres_test

import (
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/store/postgres"
	"github.com/parleyhq/parley/store/postgres/pgtest"
	"github.com/parleyhq/parley/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) parley.Store {
		return pgtest.Open(t, postgres.Options{})
	})
}
