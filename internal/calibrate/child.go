package calibrate

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux ABI).
const userHZ = 100

// childRun is one side run in its own process.
type childRun struct {
	// exe and args are the command; stdin is written to it.
	exe   string
	args  []string
	stdin []byte
	// stdout is what it printed; cpu its CPU time (user+system) between
	// its measure and cooldown marks (markLine).
	stdout []byte
	cpu    time.Duration
}

// run starts the child, samples its CPU time when it writes the measure
// and the cooldown marks on stderr, and waits for it. Its stderr is not
// kept except its last lines, quoted in the error when it fails.
func (c *childRun) run(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, c.exe, c.args...)
	cmd.Stdin = bytes.NewReader(c.stdin)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.WaitDelay = 5 * time.Second
	pr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("calibrate: %s: %w", c.exe, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("calibrate: start %s: %w", c.exe, err)
	}
	tail, marks, cerr := c.watch(cmd.Process.Pid, pr)
	werr := cmd.Wait()
	c.stdout = out.Bytes()
	switch {
	case werr != nil:
		return fmt.Errorf("calibrate: %s %s: %w (stderr: %s)", c.exe, strings.Join(c.args, " "), werr, strings.Join(tail, " | "))
	case cerr != nil:
		return cerr
	case marks != 3:
		return fmt.Errorf("calibrate: %s %s never marked its measured window (stderr: %s)", c.exe, strings.Join(c.args, " "), strings.Join(tail, " | "))
	}
	return nil
}

// watch reads the child's stderr to its end, sampling its CPU time at the
// marks; it returns the last lines, which marks were seen (1 measure, 2
// cooldown) and the first error reading the CPU time.
func (c *childRun) watch(pid int, r io.Reader) (tail []string, marks int, err error) {
	sc := bufio.NewScanner(r)
	var t0 time.Duration
	for sc.Scan() {
		line := sc.Text()
		switch {
		case marks == 0 && strings.Contains(line, markLine(phaseMeasure)):
			t0, err = procCPU(pid)
			marks |= 1
		case marks == 1 && strings.Contains(line, markLine(phaseCooldown)):
			var t1 time.Duration
			t1, err = procCPU(pid)
			c.cpu = t1 - t0
			marks |= 2
		}
		if tail = append(tail, line); len(tail) > 5 {
			tail = tail[1:]
		}
	}
	return tail, marks, errors.Join(err, sc.Err())
}

// procCPU returns the user+system CPU time of process pid so far, all its
// threads included, from /proc/<pid>/stat (10 ms resolution).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("calibrate: CPU time of pid %d: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from a
// /proc/<pid>/stat line; the command name (field 2) may hold spaces and
// parentheses, so fields are counted after its last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("calibrate: /proc stat line without a command name: %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("calibrate: /proc stat line too short: %q", stat)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("calibrate: /proc stat CPU field %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
