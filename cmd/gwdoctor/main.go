// Command gwdoctor diagnoses why an Alibaba Cloud MSE cloud-native gateway
// cannot reach its backends. The commands live in internal/cli.
package main

import (
	"os"

	"github.com/gwdoctor/gwdoctor/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
