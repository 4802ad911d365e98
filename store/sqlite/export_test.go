package sqlite

// TestKeyring gives the external tests the keyring of testKeyring.
var TestKeyring = testKeyring
