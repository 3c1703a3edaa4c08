// Command ferretdb runs FerretDB v1 (SQLite backend) through its embeddable
// package as a real MongoDB-wire server for pacbench's MongoDB tests on
// machines without mongod. It lives in its own module so FerretDB's
// dependencies stay out of pacbench's go.mod.
//
// It listens on one TCP address (loopback by default), stores data under
// -data, logs to stderr and exits cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// options are the command-line settings.
type options struct {
	listen   string // host:port to listen on
	data     string // SQLite data directory
	logLevel string // debug, info, warn, error
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:27018", "TCP `host:port` to listen on (loopback only)")
	flag.StringVar(&o.data, "data", "", "SQLite data `directory` (required)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "log `level`: debug, info, warn, error")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.data == "" {
		return errors.New("-data is required")
	}
	host, _, err := net.SplitHostPort(o.listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", o.listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %q: only loopback addresses are allowed", o.listen)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	dir, err := filepath.Abs(o.data)
	if err != nil {
		return fmt.Errorf("-data: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("-data: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: o.listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	logger.Info("ferretdb listening", "uri", f.MongoDBURI(), "data", dir)
	return f.Run(ctx)
}
