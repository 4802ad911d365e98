//go:build !linux

package main

import "syscall"

// childAttr is empty where the kernel cannot kill a child with its parent;
// the server is still stopped when the measurement ends or fails.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
