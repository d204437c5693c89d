// Command hello greets its arguments; the e2e tests and `make demo` drive
// gopls on this file.
package main

import (
	"fmt"
	"os"

	"example.com/hello/greet"
)

// shout adds emphasis; it exists so main calls a function of its own package.
func shout(s string) string {
	return s + "!"
}

func main() {
	g := greet.New(".")
	for _, name := range os.Args[1:] {
		fmt.Println(shout(g.Greet(name)))
	}
	fmt.Println("greetings:", g.Count())
}
