package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/gwdoctor/gwdoctor/snapshot"
)

// ExitInterrupted is the exit code of a command stopped by SIGINT or
// SIGTERM, as a shell reports SIGINT (128+2).
const ExitInterrupted = 130

// interruptedError ends a command that Ctrl-C (or SIGTERM) stopped while it
// waited for what.
func interruptedError(what string, cause error) error {
	return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("interrupted while reading %s (%w)", what, cause)}
}

// untilDone runs read, which may block for ever (a FIFO with no writer, an
// idle terminal on standard input), and gives up as soon as ctx ends: the
// command then exits with ExitInterrupted instead of hanging, and never
// parses the half it read. The blocked read is abandoned; the process is
// about to exit.
func untilDone[T any](ctx context.Context, what string, read func() (T, error)) (T, error) {
	type result struct {
		value T
		err   error
	}
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, interruptedError(what, err)
	}
	done := make(chan result, 1)
	go func() {
		v, err := read()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		// A signal also closes a terminal's input: the read then ends
		// (empty) at the same moment, and the interruption is the news.
		if err := ctx.Err(); err != nil {
			return zero, interruptedError(what, err)
		}
		return r.value, r.err
	case <-ctx.Done():
		return zero, interruptedError(what, ctx.Err())
	}
}

// loadSnapshot reads a snapshot file, or standard input for "-", until ctx
// ends.
func loadSnapshot(ctx context.Context, path string, stdin io.Reader) (*snapshot.Snapshot, error) {
	if path != "-" {
		return untilDone(ctx, path, func() (*snapshot.Snapshot, error) { return snapshot.Load(path) })
	}
	return untilDone(ctx, "standard input", func() (*snapshot.Snapshot, error) {
		data, err := io.ReadAll(io.LimitReader(stdin, snapshot.MaxSize+1))
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return snapshot.Parse("<stdin>", data)
	})
}
