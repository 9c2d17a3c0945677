// Package bench compares lockgate's engines with other policy engines on
// the same decisions. It is a module of its own so that lockgate itself
// does not depend on the engines it is measured against.
//
//	cd bench && go test -run '^$' -bench . -benchmem
package bench
