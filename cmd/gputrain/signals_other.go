//go:build !unix

package main

import (
	"os"
	"syscall"
)

// signalsHandled are the signals fit handles: an interrupt or a termination stops
// training with a checkpoint. There is no SIGUSR1 here.
var signalsHandled = []os.Signal{os.Interrupt, syscall.SIGTERM}

// saveSignal is none here.
var saveSignal os.Signal = noSignal{}

type noSignal struct{}

func (noSignal) String() string { return "none" }
func (noSignal) Signal()        {}
