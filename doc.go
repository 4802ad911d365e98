// Package parley holds Parley's domain types and the interfaces its adapters
// implement. It imports nothing from the module and only the standard library:
// business rules live in package app, storage in store/*, transports in
// httpapi and friends.
package parley
