// Package greet builds greetings; it gives the e2e tests a type with a
// method and a function in a second package to hover, jump to and complete.
package greet

import "strings"

// Greeter says hello in a fixed style.
type Greeter struct {
	// Punct ends every greeting.
	Punct string
	count int
}

// Greet returns a greeting for name and counts it.
func (g *Greeter) Greet(name string) string {
	g.count++
	return "Hello, " + strings.TrimSpace(name) + g.Punct
}

// Count reports how many greetings g has made.
func (g *Greeter) Count() int {
	return g.count
}

// New returns a Greeter that ends greetings with punct.
func New(punct string) *Greeter {
	return &Greeter{Punct: punct}
}
