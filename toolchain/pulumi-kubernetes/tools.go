//go:build tools

// Package tools pins the Kubernetes provider (pulumi-resource-kubernetes) that
// scripts/toolchain.sh builds. The Go module proxy refuses every tagged
// github.com/pulumi/pulumi-kubernetes/provider/v4 version but serves the pseudo-version of
// the v4.25.0 tag's commit. scripts/toolchain.sh copies the module's
// cmd/pulumi-resource-kubernetes (main.go, generate.go and the two JSON files it embeds) into
// a build folder beside this go.mod, runs generate.go and builds. codegen/schema is what
// generate.go imports.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
