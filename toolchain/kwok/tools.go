//go:build tools

// Package tools pins kwok, which simulates the nodes and pods of the e2e cluster.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
