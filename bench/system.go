package bench

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
)

// ErrMemberDied: a member of the local cluster pacbench started exited on
// its own during the run (crashed or killed by someone else). The results
// are written, with the death noted, but they no longer measure the
// deployment the profile describes: the run fails (exit 1).
var ErrMemberDied = errors.New("cluster member died during the run")

// system is what startSystem brought up: a local cluster, or nothing (an
// existing deployment).
type system struct {
	cluster *cluster.Etcd
	log     io.Writer
}

// stop stops what was started; its problems go to the log (the results
// are written by then).
func (s *system) stop() {
	if s == nil || s.cluster == nil {
		return
	}
	if err := s.cluster.Stop(); err != nil {
		fmt.Fprintf(s.log, "local cluster: %v\n", err)
	}
}

// deaths lists the local members that died during the run, on the run
// clock and in the phase they died in, with one note each and an error
// wrapping ErrMemberDied (nil if none died).
func (s *system) deaths(clock metrics.Clock, res *runner.Result) ([]report.MemberDeath, []string, error) {
	if s == nil || s.cluster == nil {
		return nil, nil, nil
	}
	var out []report.MemberDeath
	var notes, msgs []string
	for _, d := range s.cluster.Died() {
		at := d.At.Sub(clock.Base())
		md := report.MemberDeath{Name: d.Name, PID: d.PID, AtNs: int64(at), Phase: phaseAt(res, int64(at)), Error: d.Err}
		out = append(out, md)
		msg := fmt.Sprintf("%s (pid %d) at %s of the run", d.Name, d.PID, at.Round(time.Millisecond))
		if md.Phase != "" {
			msg += ", in phase " + md.Phase
		}
		msg += ": " + firstLine(d.Err)
		notes = append(notes, report.NoteMemberDied+msg+"; what follows measures a smaller cluster than the profile's")
		msgs = append(msgs, msg)
	}
	if len(out) == 0 {
		return nil, nil, nil
	}
	return out, notes, fmt.Errorf("%w: %s", ErrMemberDied, strings.Join(msgs, "; "))
}

// phaseAt names the phase whose window holds ns ("" if none).
func phaseAt(res *runner.Result, ns int64) string {
	if res == nil {
		return ""
	}
	for _, w := range res.Phases {
		if ns >= w.StartNs && (ns < w.EndNs || w.EndNs == 0) {
			return w.Name
		}
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
