// Package browser drives a real headless Chromium over the DevTools
// protocol, for tests that look at a page as a person would: open a
// file:// page with the network off, collect what the console said, read
// the DOM, take a screenshot. The protocol runs over a pipe
// (--remote-debugging-pipe: NUL-separated JSON on fds 3 and 4), so no port
// is opened and no client library is needed.
//
// A Browser is safe for concurrent use; a Page is used by one goroutine.
package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// ErrNotFound is returned by Find when no Chromium binary is installed.
var ErrNotFound = errors.New("no chromium binary found (Debian: apt-get install -y chromium)")

// EnvBinary names the environment variable that overrides the binary.
const EnvBinary = "PACBENCH_CHROMIUM"

// Find returns the Chromium binary: $PACBENCH_CHROMIUM, else the first of
// chromium, chromium-browser, google-chrome in PATH.
func Find() (string, error) {
	if b := os.Getenv(EnvBinary); b != "" {
		return b, nil
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// Options configure Launch. Zero values are documented defaults.
type Options struct {
	// Binary is the Chromium executable (default: Find()).
	Binary string
	// Width and Height of the window in CSS pixels (default 1280×900).
	Width, Height int
	// Stderr receives the browser's own log (default: discarded).
	Stderr io.Writer
}

// Flags are the command-line switches every launch uses: headless, no
// sandbox (tests run as root), and no network: background services off,
// every host name unresolvable and every request sent to a proxy that is
// not there.
func Flags(width, height int, userDir string) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--no-first-run", "--no-default-browser-check",
		"--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe",
		`--host-resolver-rules=MAP * ~NOTFOUND`, "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--window-size=" + strconv.Itoa(width) + "," + strconv.Itoa(height),
		"--user-data-dir=" + userDir,
	}
}

// Browser is a running headless Chromium.
type Browser struct {
	cmd     *exec.Cmd
	toChild *os.File
	userDir string
	done    chan struct{}
	readErr error

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan reply
	pages   map[string]*Page // by session id
	writeMu sync.Mutex
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type message struct {
	ID        int64           `json:"id"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	SessionID string          `json:"sessionId"`
	reply
}

// Launch starts Chromium. Close stops it.
func Launch(o Options) (*Browser, error) {
	if o.Binary == "" {
		b, err := Find()
		if err != nil {
			return nil, err
		}
		o.Binary = b
	}
	if o.Width == 0 {
		o.Width, o.Height = 1280, 900
	}
	dir, err := os.MkdirTemp("", "pacbench-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser: %w", err)
	}
	childIn, toChild, err1 := os.Pipe()
	fromChild, childOut, err2 := os.Pipe()
	if err := errors.Join(err1, err2); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("browser: pipe: %w", err)
	}
	cmd := exec.Command(o.Binary, append(Flags(o.Width, o.Height, dir), "about:blank")...)
	cmd.ExtraFiles = []*os.File{childIn, childOut} // fds 3 and 4
	cmd.Stdout, cmd.Stderr = o.Stderr, o.Stderr
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("browser: start %s: %w", o.Binary, err)
	}
	_ = childIn.Close()
	_ = childOut.Close()
	b := &Browser{cmd: cmd, toChild: toChild, userDir: dir, done: make(chan struct{}),
		pending: map[int64]chan reply{}, pages: map[string]*Page{}}
	go b.read(fromChild)
	return b, nil
}

// read dispatches every message from the browser until the pipe closes.
func (b *Browser) read(r io.ReadCloser) {
	defer close(b.done)
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.readErr = err
			b.mu.Unlock()
			return
		}
		var m message
		if err := json.Unmarshal(raw[:len(raw)-1], &m); err != nil {
			continue
		}
		b.mu.Lock()
		if m.ID != 0 {
			if ch := b.pending[m.ID]; ch != nil {
				delete(b.pending, m.ID)
				ch <- m.reply
			}
		} else if p := b.pages[m.SessionID]; p != nil {
			p.event(m.Method, m.Params)
		}
		b.mu.Unlock()
	}
}

// call sends one command (to a page's session if session is set) and
// decodes its result into out (nil: ignored).
func (b *Browser) call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan reply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if params == nil {
		msg["params"] = map[string]any{}
	}
	if session != "" {
		msg["sessionId"] = session
	}
	raw, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	b.writeMu.Lock()
	_, err = b.toChild.Write(append(raw, 0))
	b.writeMu.Unlock()
	if err != nil {
		return fmt.Errorf("browser: %s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("browser: %s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("browser: %s: browser exited (%v)", method, b.readErr)
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("browser: %s: %w", method, ctx.Err())
	}
}

// Close stops the browser (politely, then by killing its process) and
// removes its profile directory.
func (b *Browser) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.call(ctx, "", "Browser.close", nil, nil)
	_ = b.toChild.Close()
	exited := make(chan error, 1)
	go func() { exited <- b.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = b.cmd.Process.Kill()
		<-exited
	}
	return os.RemoveAll(b.userDir)
}
