package main

import (
	"errors"
	"testing"
)

func TestExitCodeOfAFailedTeardownIsTheRuntimes(t *testing.T) {
	teardown := errors.New("remove /run/tinyrun/containers/x: device or resource busy")
	for _, tt := range []struct {
		err     error
		status  int
		message string
	}{
		{errors.Join(exitStatus(0), nil), 0, ""},
		{errors.Join(exitStatus(3), nil), 3, ""},
		// Whatever the container's status, a teardown that failed is the
		// runtime's failure: 125, with the teardown's message.
		{errors.Join(exitStatus(0), teardown), statusRuntimeError, teardown.Error()},
		{errors.Join(exitStatus(3), teardown), statusRuntimeError, teardown.Error()},
		{errors.Join(exitStatus(137), teardown), statusRuntimeError, teardown.Error()},
		{commandError{statusNotFound, errors.New(`command "x": not found`)}, statusNotFound, `command "x": not found`},
		{errors.New("start container process: operation not permitted"), statusRuntimeError, "start container process: operation not permitted"},
	} {
		status, message := exitCode(tt.err)
		if status != tt.status || message != tt.message {
			t.Errorf("exitCode(%v) = %d, %q; want %d, %q", tt.err, status, message, tt.status, tt.message)
		}
	}
}
