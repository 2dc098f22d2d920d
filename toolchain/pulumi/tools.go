//go:build tools

// Package tools pins the Pulumi CLI that scripts/toolchain.sh builds.
// pulumi-language-nodejs is a separate module that the Go module proxy does not serve
// (403, see versions.env); the e2e tests use the Automation API's in-process language host.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
