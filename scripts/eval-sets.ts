/** @module The evaluation's data sets: each capture in ../shared/testdata, where its operator's network is, its ground truth and whether detection was tuned on it. */

/** Ground truth of a capture: addresses as they appear in the data (domestic ones are pseudonymized when scored). */
export interface Truth {
  cc: string[];
  scanners: string[];
  ddos: string[];
  /** Addresses counted neither right nor wrong (e.g. a C&C's second address). */
  ignore?: string[];
}

/** One capture as the evaluation replays it. */
export interface DataSet {
  name: string;
  file: string;
  /** `flows`: imported with collection's flow-file reader; `pcap`: replayed through softflowd into the UDP collector. */
  kind: 'flows' | 'pcap';
  /** `tuned`: thresholds were set looking at it; `held-out`: only scored (docs/detection.md#evaluation). */
  split: 'tuned' | 'held-out';
  /**
   * The consenting operator's own prefixes: registered as domestic (as the registry does for an operator's
   * ranges) and named by the consent agreement that is the capture's legal basis.
   */
  operator: string[];
  /**
   * An attacker inside a LAN-only capture moved abroad (its address rewritten before selection), so the
   * attack crosses the border as the system would see it; without it the law drops the whole capture.
   */
  relocate?: { from: string; to: string };
  /** Argus binetflow: the capture's local time offset from UTC (minutes). */
  utcOffsetMinutes?: number;
  /** Benign captures: any alert fails the evaluation; suspects are reported. */
  benign?: boolean;
  /** Ground truth from SOURCES.md; labelled files derive it from their labels. */
  truth?: Truth;
}

/** A foreign address (US, in the bundled country data) that the LAN-only attackers are moved to. */
export const ABROAD = '198.20.69.74';

/** Every capture, tuned ones first. */
export const SETS: DataSet[] = [
  { name: 'iot23-hakai-8-1', file: 'flows/CTU-Malware-Capture-8-1-labeled.csv', kind: 'flows', split: 'tuned', operator: ['192.168.0.0/16'] },
  { name: 'iot23-honeypot-4-1 (Philips HUE)', file: 'flows/CTU-Honeypot-Capture-4-1-labeled.csv', kind: 'flows', split: 'tuned', operator: ['192.168.0.0/16'], benign: true },
  { name: 'ctu-normal-2013-10-21 (workstation)', file: 'flows/CTU-Normal-2013-10-21_capture-1.binetflow', kind: 'flows', split: 'tuned', operator: ['147.32.0.0/16'], utcOffsetMinutes: 120, benign: true, truth: { cc: [], scanners: [], ddos: [] } },
  { name: 'slips-horizontal-scan', file: 'flows/port-scans_horizontal_conn.log', kind: 'flows', split: 'tuned', operator: ['10.0.0.0/8'], truth: { cc: [], scanners: ['10.0.2.112'], ddos: [] } },
  { name: 'slips-cc-1 (softflowd)', file: 'pcaps/test-cc_test-cc-capture-1.pcap', kind: 'pcap', split: 'tuned', operator: ['147.32.0.0/16'], truth: { cc: ['141.193.213.21'], scanners: [], ddos: [], ignore: ['141.193.213.20'] } },
  { name: 'slips-icmp-sweep (softflowd)', file: 'pcaps/test12-icmp-portscan.pcap', kind: 'pcap', split: 'tuned', operator: ['192.168.0.0/16'], relocate: { from: '192.168.1.109', to: ABROAD }, truth: { cc: [], scanners: [ABROAD], ddos: [] } },
  { name: 'iot23-mirai-44-1', file: 'flows/CTU-Malware-Capture-44-1-labeled.csv', kind: 'flows', split: 'held-out', operator: ['192.168.0.0/16'] },
  { name: 'iot23-honeypot-5-1 (Amazon Echo)', file: 'flows/CTU-Honeypot-Capture-5-1-labeled.csv', kind: 'flows', split: 'held-out', operator: ['192.168.0.0/16'], benign: true },
  { name: 'ctu-normal-2015-03-24 (DNS clients)', file: 'flows/CTU-Normal-2015-03-24_capture1-only-dns.binetflow', kind: 'flows', split: 'held-out', operator: ['10.0.0.0/8'], utcOffsetMinutes: 60, benign: true, truth: { cc: [], scanners: [], ddos: [] } },
  { name: 'slips-vertical-scan', file: 'flows/port-scans_vertical_conn.log', kind: 'flows', split: 'held-out', operator: ['192.168.0.0/16'], truth: { cc: [], scanners: ['192.168.1.9'], ddos: [] } },
  { name: 'slips-cc-2 (softflowd)', file: 'pcaps/test-cc_test-cc-capture-2.pcap', kind: 'pcap', split: 'held-out', operator: ['147.32.0.0/16'], truth: { cc: ['141.193.213.20'], scanners: [], ddos: [] } },
  { name: 'slips-ssh-bruteforce (softflowd)', file: 'pcaps/test19-malicious-ssh_malicious-ssh-bruteforce.pcap', kind: 'pcap', split: 'held-out', operator: ['147.32.0.0/16'], relocate: { from: '147.32.80.40', to: ABROAD }, truth: { cc: [], scanners: [], ddos: [] } },
  { name: 'slips-hidenseek (softflowd)', file: 'pcaps/test7-malicious.pcap', kind: 'pcap', split: 'held-out', operator: ['192.168.0.0/16'], truth: { cc: [], scanners: ['192.168.2.16'], ddos: [] } },
];
