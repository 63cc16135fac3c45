//go:build unix

package main

import (
	"os"
	"syscall"
)

// signalsHandled are the signals fit handles (the rest of the run leaves them to their
// default): SIGINT and SIGTERM stop training with a checkpoint, saveSignal saves one.
var signalsHandled = []os.Signal{os.Interrupt, syscall.SIGTERM, saveSignal}

// saveSignal asks for a checkpoint without stopping.
var saveSignal os.Signal = syscall.SIGUSR1
