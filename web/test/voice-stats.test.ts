// Quality figures from getStats() reports: round-trip time and path from the pair in use,
// packet loss between two reports.

import { describe, expect, it } from 'vitest';
import { qualityFrom } from '../src/voice/stats';

/** A report as the browser hands it out: stats objects keyed by id. */
const report = (...stats: Record<string, unknown>[]): RTCStatsReport => new Map(stats.map((s) => [s.id, s])) as unknown as RTCStatsReport;

const none = { received: 0, lost: 0 };

describe('qualityFrom', () => {
  it("takes round-trip time and path from the transport's selected pair", () => {
    const relayed = report(
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P2' },
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', currentRoundTripTime: 0.3, nominated: true, state: 'succeeded' },
      { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', currentRoundTripTime: 0.0424 },
      { id: 'L1', type: 'local-candidate', candidateType: 'host' },
      { id: 'L2', type: 'local-candidate', candidateType: 'relay' },
    );
    expect(qualityFrom(relayed, none).quality).toEqual({ rttMs: 42, lossPct: null, path: 'relay' });
  });

  it('falls back to the nominated pair that succeeded when no transport names one', () => {
    const direct = report(
      { id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', currentRoundTripTime: 0.3, nominated: true, state: 'failed' },
      { id: 'P2', type: 'candidate-pair', localCandidateId: 'L2', currentRoundTripTime: 0.012, nominated: true, state: 'succeeded' },
      { id: 'L1', type: 'local-candidate', candidateType: 'relay' },
      { id: 'L2', type: 'local-candidate', candidateType: 'srflx' },
    );
    expect(qualityFrom(direct, none).quality).toEqual({ rttMs: 12, lossPct: null, path: 'direct' });
  });

  it('reports nothing while no pair is in use', () => {
    const gathering = report({ id: 'P1', type: 'candidate-pair', localCandidateId: 'L1', nominated: false, state: 'in-progress' });
    expect(qualityFrom(gathering, none)).toEqual({ quality: { rttMs: null, lossPct: null, path: null }, packets: none });
  });

  it('measures loss since the previous report, summed over inbound streams', () => {
    const first = qualityFrom(
      report({ id: 'A', type: 'inbound-rtp', packetsReceived: 60, packetsLost: 5 }, { id: 'B', type: 'inbound-rtp', packetsReceived: 30, packetsLost: 5 }),
      none,
    );
    expect(first).toEqual({ quality: { rttMs: null, lossPct: 10, path: null }, packets: { received: 90, lost: 10 } });
    const second = qualityFrom(report({ id: 'A', type: 'inbound-rtp', packetsReceived: 190, packetsLost: 10 }), first.packets);
    expect(second.quality.lossPct).toBe(0);
    // No packets in between: no figure rather than a made-up 0 %.
    expect(qualityFrom(report({ id: 'A', type: 'inbound-rtp', packetsReceived: 190, packetsLost: 10 }), second.packets).quality.lossPct).toBeNull();
    // The lost count can go down (duplicates count as received, RFC 3550); that is no negative loss.
    expect(qualityFrom(report({ id: 'A', type: 'inbound-rtp', packetsReceived: 290, packetsLost: 8 }), second.packets).quality.lossPct).toBe(0);
  });
});
