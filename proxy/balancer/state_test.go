package balancer

import "testing"

// The counters of lua-resty-healthcheck: consecutive outcomes count
// towards a limit, the opposite outcome clears them (if its own limit is
// set), a zero limit ignores its outcome.
func TestHealthStateMachine(t *testing.T) {
	type step struct {
		outcome   string // tcp, timeout, http, ok
		wantAvail bool
		wantFlip  bool
		wantState uint64
	}
	tests := []struct {
		name   string
		limits thresholds
		steps  []step
	}{
		{"tcp failures reach the limit", thresholds{tcpFailures: 2}, []step{
			{"tcp", true, false, stateMostlyHealthy},
			{"tcp", false, true, stateUnhealthy},
			{"tcp", false, false, stateUnhealthy},
		}},
		{"without a success limit failures add up", thresholds{tcpFailures: 2}, []step{
			{"tcp", true, false, stateMostlyHealthy},
			{"ok", true, false, stateMostlyHealthy},
			{"tcp", false, true, stateUnhealthy},
		}},
		{"a success clears the failures", thresholds{tcpFailures: 2, successes: 3}, []step{
			{"tcp", true, false, stateMostlyHealthy},
			{"ok", true, false, stateMostlyHealthy},
			{"tcp", true, false, stateMostlyHealthy},
			{"tcp", false, true, stateUnhealthy},
		}},
		{"successes bring it back", thresholds{httpFailures: 1, successes: 2}, []step{
			{"http", false, true, stateUnhealthy},
			{"ok", false, false, stateMostlyUnhealthy},
			{"http", false, false, stateUnhealthy},
			{"ok", false, false, stateMostlyUnhealthy},
			{"ok", true, true, stateHealthy},
		}},
		{"counters are separate", thresholds{tcpFailures: 2, timeouts: 2, httpFailures: 2}, []step{
			{"tcp", true, false, stateMostlyHealthy},
			{"timeout", true, false, stateMostlyHealthy},
			{"http", true, false, stateMostlyHealthy},
			{"timeout", false, true, stateUnhealthy},
		}},
		{"zero limits ignore", thresholds{}, []step{
			{"tcp", true, false, stateHealthy},
			{"timeout", true, false, stateHealthy},
			{"http", true, false, stateHealthy},
		}},
		{"mostly healthy recovers with successes", thresholds{tcpFailures: 3, successes: 1}, []step{
			{"tcp", true, false, stateMostlyHealthy},
			{"ok", true, false, stateHealthy},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAddrState(addrKey{})
			for i, st := range tt.steps {
				var flip, avail bool
				switch st.outcome {
				case "tcp":
					flip, avail = s.report(false, ctrTCP, tt.limits.tcpFailures)
				case "timeout":
					flip, avail = s.report(false, ctrTimeout, tt.limits.timeouts)
				case "http":
					flip, avail = s.report(false, ctrHTTP, tt.limits.httpFailures)
				case "ok":
					flip, avail = s.report(true, ctrSuccess, tt.limits.successes)
				}
				if flip != st.wantFlip || avail != st.wantAvail || s.health.Load()>>stateShift != st.wantState {
					t.Fatalf("step %d (%s): flip %v avail %v state %d, want %v %v %d", i, st.outcome,
						flip, avail, s.health.Load()>>stateShift, st.wantFlip, st.wantAvail, st.wantState)
				}
			}
		})
	}
}

func TestHealthSetClearsCounters(t *testing.T) {
	s := newAddrState(addrKey{})
	s.report(false, ctrTCP, 3)
	s.report(false, ctrTCP, 3)
	if flipped := s.set(true); flipped {
		t.Error("mostly healthy → healthy is no flip")
	}
	if s.health.Load() != 0 {
		t.Errorf("health word %#x after set, want 0", s.health.Load())
	}
	if flipped := s.set(false); !flipped || s.available() {
		t.Error("set(false) did not make it unavailable")
	}
}
