// Reads a peer connection's getStats() report into the figures the sidebar shows: round-trip
// time, packet loss since the previous report, and whether audio goes through the relay. Pure,
// so it is unit-tested with hand-made reports.

/** Per-participant quality for the sidebar. */
export interface PeerQuality {
  state: RTCPeerConnectionState;
  rttMs: number | null;
  lossPct: number | null;
  path: 'relay' | 'direct' | null;
}

/** Running totals of inbound audio packets; loss is measured between two reports. */
export interface PacketCounts {
  received: number;
  lost: number;
}

type AnyStats = RTCStats & Record<string, unknown>;

/** The quality figures of one report, and the packet totals to pass as `last` next time. */
export function qualityFrom(report: RTCStatsReport, last: PacketCounts): { quality: Omit<PeerQuality, 'state'>; packets: PacketCounts } {
  const byId = new Map<string, AnyStats>();
  report.forEach((s) => byId.set(s.id, s as AnyStats));
  let pair: RTCIceCandidatePairStats | undefined;
  report.forEach((s) => {
    if (s.type === 'transport' && (s as RTCTransportStats).selectedCandidatePairId) {
      pair = byId.get((s as RTCTransportStats).selectedCandidatePairId!) as unknown as RTCIceCandidatePairStats;
    }
  });
  // Browsers that report no transport stats name no selected pair; the nominated pair that
  // succeeded is then the one in use.
  if (!pair) {
    report.forEach((s) => {
      const candidate = s as RTCIceCandidatePairStats;
      if (s.type === 'candidate-pair' && candidate.nominated && candidate.state === 'succeeded') pair = candidate;
    });
  }
  const local = pair ? byId.get(pair.localCandidateId) : undefined;
  let received = 0;
  let lost = 0;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp') {
      received += Number((s as AnyStats).packetsReceived ?? 0);
      lost += Number((s as AnyStats).packetsLost ?? 0);
    }
  });
  const dReceived = received - last.received;
  const dLost = lost - last.lost;
  return {
    quality: {
      rttMs: pair?.currentRoundTripTime !== undefined ? Math.round(pair.currentRoundTripTime * 1000) : null,
      lossPct: dReceived + dLost > 0 ? Math.round((100 * Math.max(0, dLost)) / (dReceived + dLost)) : null,
      path: local ? (local.candidateType === 'relay' ? 'relay' : 'direct') : null,
    },
    packets: { received, lost },
  };
}
