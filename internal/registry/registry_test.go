package registry

import (
	"testing"

	"github.com/pacbench/pacbench/drivers"
)

// TestAuditorLevelsValid: every built-in driver offers the lost-write
// audit's strongest and weakest level sets (drivers.Auditor), and its own
// ValidateLevels accepts them, whatever the scenario's levels were.
func TestAuditorLevelsValid(t *testing.T) {
	t.Parallel()
	reg := Default()
	for _, name := range reg.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, err := reg.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			au, ok := d.(drivers.Auditor)
			if !ok {
				t.Fatalf("driver %s is not a drivers.Auditor: its runs would not be audited", name)
			}
			for _, cas := range []bool{false, true} {
				for _, lv := range []drivers.Levels{au.AuditLevels(nil, cas), au.ReplicaLevels(nil)} {
					if err := d.ValidateLevels(lv); err != nil {
						t.Errorf("cas %v: levels %v: %v", cas, lv, err)
					}
				}
			}
		})
	}
}
