// Package testnames is what TestDocBlocksClassified lists with testNames:
// the functions go test -list shows, and look-alikes it does not.
package testnames

import "testing"

func Test(t *testing.T)        {}          // listed: the prefix alone
func TestÉtat(t *testing.T)    {}          // listed: É is not lower case
func Testify(t *testing.T)     {}          // not listed: a lower-case letter follows
func TestMain(m *testing.M)    { m.Run() } // not listed: it runs the tests
func BenchmarkB(b *testing.B)  {}          // listed
func Benchmarked(b *testing.B) {}          // not listed

type suite struct{}

func (suite) TestMethod(t *testing.T) {} // not listed: a method

func helper(t *testing.T) {}
