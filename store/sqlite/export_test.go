package sqlite

import "github.com/parleyhq/parley/sealed/sealedtest"

// TestKeyring gives the external tests a keyring.
var TestKeyring = sealedtest.Ring
