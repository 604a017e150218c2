//go:build !cgo

package main

import "errors"

// joinedByConstructor: without cgo, nothing joins a container before Go
// starts, and Go cannot join a mount namespace itself (nsenter.go).
func joinedByConstructor() bool { return false }

// execNeedsCgo is what exec says in a runtime built without cgo.
var execNeedsCgo = errors.New("exec needs a runtime built with cgo: its C constructor joins the container's namespaces before Go starts threads (nsenter.go); build it with a C compiler and CGO_ENABLED=1")
