package owner

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestGone(t *testing.T) {
	t.Parallel()
	self := Self()
	if self.Start == 0 {
		t.Skip("no /proc")
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child := Of(cmd.Process.Pid)
	tests := []struct {
		name string
		p    Proc
		gone bool
	}{
		{"self", self, false},
		{"live child", child, false},
		{"reused pid (other start time)", Proc{PID: os.Getppid(), Start: Start(os.Getppid()) + 1}, true},
		{"no pid", Proc{}, false},
	}
	for _, tc := range tests {
		if got := tc.p.Gone(); got != tc.gone {
			t.Errorf("%s: Gone() = %v, want %v", tc.name, got, tc.gone)
		}
	}
	_ = cmd.Process.Kill()
	for deadline := time.Now().Add(5 * time.Second); !child.Gone() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if !child.Gone() {
		t.Error("a killed, unreaped (zombie) child is not gone")
	}
	_ = cmd.Wait()
	if !child.Gone() {
		t.Error("a reaped child is not gone")
	}
}
