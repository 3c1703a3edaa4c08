package calibrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/workloads"
)

// dialTimeout bounds connecting and the topology queries of the raw side.
const dialTimeout = 5 * time.Second

// rawSide is the A side: plain clientv3 clients pinned to the same members
// as pacbench's sessions, one client per distinct endpoint (pacbench's etcd
// driver also shares one client per endpoint set among its sessions).
type rawSide struct {
	members                 int
	readMember, writeMember *etcdserverpb.Member
	read, write             *clientv3.Client
	clients                 []*clientv3.Client
}

// openRaw resolves the read and write members by role (the leader is the
// member every reachable member names in Status) and connects to them.
func openRaw(ctx context.Context, o Options, endpoints []string) (*rawSide, error) {
	admin, err := newClient(endpoints, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("calibrate: connect %v: %w", endpoints, err)
	}
	defer admin.Close()
	qctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	ml, err := admin.MemberList(qctx)
	if err != nil {
		return nil, fmt.Errorf("calibrate: member list: %w", err)
	}
	var leader uint64
	for _, ep := range endpoints {
		st, err := admin.Status(qctx, ep)
		if err != nil {
			return nil, fmt.Errorf("calibrate: status of %s: %w", ep, err)
		}
		if st.Leader == 0 || (leader != 0 && st.Leader != leader) {
			return nil, fmt.Errorf("calibrate: no stable leader (%s reports %x)", ep, st.Leader)
		}
		leader = st.Leader
	}
	members := slices.Clone(ml.Members)
	slices.SortFunc(members, func(a, b *etcdserverpb.Member) int { return strings.Compare(a.Name, b.Name) })
	pick := func(role string) (*etcdserverpb.Member, error) {
		for _, m := range members {
			if len(m.ClientURLs) > 0 && (m.ID == leader) == (role == RouteLeader) {
				return m, nil
			}
		}
		return nil, fmt.Errorf("calibrate: no %s among %d members", role, len(members))
	}
	r := &rawSide{members: len(members)}
	if r.readMember, err = pick(o.ReadVia); err != nil {
		return nil, err
	}
	if r.writeMember, err = pick(o.WriteVia); err != nil {
		return nil, err
	}
	if r.read, err = newClient([]string{r.readMember.ClientURLs[0]}, dialTimeout); err != nil {
		return nil, fmt.Errorf("calibrate: connect %s: %w", r.readMember.Name, err)
	}
	r.clients = append(r.clients, r.read)
	r.write = r.read
	if r.writeMember.ID != r.readMember.ID {
		if r.write, err = newClient([]string{r.writeMember.ClientURLs[0]}, dialTimeout); err != nil {
			r.close()
			return nil, fmt.Errorf("calibrate: connect %s: %w", r.writeMember.Name, err)
		}
		r.clients = append(r.clients, r.write)
	}
	return r, nil
}

func (r *rawSide) close() {
	for _, c := range r.clients {
		_ = c.Close()
	}
}

// load writes every record once with a value of the configured size, so
// that the raw side's first reads find data (pacbench reloads them itself
// before each of its runs, outside its measured phase).
func (r *rawSide) load(ctx context.Context, o Options, spec workloads.Spec) error {
	ks := workloads.NewKeyspace(spec)
	value := strings.Repeat("v", o.ValueSize)
	var wg sync.WaitGroup
	errs := make([]error, o.Workers)
	for w := range o.Workers {
		wg.Go(func() {
			for k := w; k < o.Records; k += o.Workers {
				octx, cancel := context.WithTimeout(ctx, o.OpTimeout)
				_, err := r.write.Put(octx, ks.Key(uint64(k)), value)
				cancel()
				if err != nil {
					errs[w] = fmt.Errorf("calibrate: load key %d: %w", k, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// run is one A run: o.Workers goroutines, each a closed loop drawing ops
// from the same workload generator as pacbench (kinds by the mix, uniform
// keys, same key names), timing each op with the monotonic clock into its
// own histogram. Ops started in [warm-up end, end) are counted.
func (r *rawSide) run(ctx context.Context, o Options, plan *profile.Plan, i int64) (Side, error) {
	ks := workloads.NewKeyspace(plan.Workload)
	value := strings.Repeat("v", o.ValueSize)
	var readOpts []clientv3.OpOption
	if o.Level == LevelSerializable {
		readOpts = append(readOpts, clientv3.WithSerializable())
	}
	hists := make([]*hdrhistogram.Histogram, o.Workers)
	counts := make([][2]int64, o.Workers) // ok, errors
	begin := time.Now()
	measureFrom := begin.Add(o.Warmup)
	end := measureFrom.Add(o.Duration)
	var wg sync.WaitGroup
	var cpu0, cpu1 time.Duration
	wg.Go(func() { // CPU time over the measured window
		at := func(t time.Time) bool {
			timer := time.NewTimer(time.Until(t))
			defer timer.Stop()
			select {
			case <-timer.C:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if at(measureFrom) {
			cpu0 = processCPU()
			if at(end) {
				cpu1 = processCPU()
			}
		}
	})
	for w := range o.Workers {
		hists[w] = metrics.NewLatencyHistogram()
		gen := workloads.NewGenerator(plan.Workload, ks, (o.Seed+i)*7919+int64(w))
		wg.Go(func() {
			h := hists[w]
			var ok, bad int64
			for ctx.Err() == nil {
				nx := gen.Next()
				key := ks.Key(nx.Key)
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				octx, cancel := context.WithTimeout(ctx, o.OpTimeout)
				var err error
				if nx.Kind == op.Read {
					_, err = r.read.Get(octx, key, readOpts...)
				} else {
					_, err = r.write.Put(octx, key, value)
				}
				el := time.Since(t0)
				cancel()
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					bad++
					continue
				}
				ok++
				_ = h.RecordValue(max(int64(el), metrics.LatencyLowestNs))
			}
			counts[w] = [2]int64{ok, bad}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Side{}, err
	}
	svc := metrics.NewLatencyHistogram()
	var side Side
	for w := range o.Workers {
		svc.Merge(hists[w])
		side.OK += counts[w][0]
		side.Errors += counts[w][1]
	}
	side.DurationS = o.Duration.Seconds()
	side.cpu = max(cpu1-cpu0, 0)
	return side.finish(svc), nil
}
