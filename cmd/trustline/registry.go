package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/urfave/cli/v2"

	"github.com/trustline-dev/trustline/internal/outfile"
	"github.com/trustline-dev/trustline/internal/stepcli"
)

// registryCommand serves go-containerregistry's registry (with OCI 1.1
// referrers) in process, for the demo and for trying pipelines without a
// registry of one's own.
func registryCommand() *cli.Command {
	return &cli.Command{
		Name:  "registry",
		Usage: "serve an in-memory OCI registry on 127.0.0.1 (for the demo and local runs)",
		UsageText: `trustline run registry [--addr 127.0.0.1:0] [--addr-file FILE]

Example:
   trustline run registry --addr 127.0.0.1:5000 &
   crane ls 127.0.0.1:5000/app`,
		Description: `Serves go-containerregistry's registry (the one its tests use, with OCI 1.1
referrers) over plain HTTP until interrupted. Content lives in memory and is
gone when it stops. It listens only on a loopback address: go-containerregistry
and every trustline command use plain HTTP for loopback registries.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:0", Usage: "listen on `HOST:PORT` (port 0 picks a free one)"},
			&cli.StringFlag{Name: "addr-file", Usage: "write the address listened on into `FILE` once ready"},
			&cli.BoolFlag{Name: "log", Usage: "log every request on stderr"},
		},
		Action: func(c *cli.Context) error {
			host, _, err := net.SplitHostPort(c.String("addr"))
			if err != nil {
				return stepcli.Usagef("--addr: %w", err)
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return stepcli.Usagef("--addr %s: only loopback addresses (the registry has no authentication)", c.String("addr"))
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return err
			}
			logw := io.Discard
			if c.Bool("log") {
				logw = c.App.ErrWriter
			}
			srv := &http.Server{
				Handler: registry.New(
					registry.Logger(log.New(logw, "registry: ", log.LstdFlags)),
					registry.WithReferrersSupport(true),
				),
				ReadHeaderTimeout: 30 * time.Second,
			}
			addr := ln.Addr().String()
			if f := c.String("addr-file"); f != "" {
				if err := outfile.Write(f, []byte(addr)); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.App.ErrWriter, "registry listening on %s (in memory; Ctrl-C stops it)\n", addr)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(shutdown)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
}
