package badger

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync flushes f's data, and of its metadata only what reading the
// data back needs (its size): a log written through a mapping changes its
// modification time on every write, which fsync would also commit.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
