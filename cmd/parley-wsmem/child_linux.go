package main

import "syscall"

// childAttr makes the server die with this process: it never outlives us.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
