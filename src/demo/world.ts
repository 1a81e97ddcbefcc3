/** @module The demo's small, realistic world: ministries, agencies, designated operators in several sectors, one user per role. */
import type { Role } from '#platform/context/index.js';

/** A demo organization. */
export interface DemoOrg {
  name: string;
  nameJa: string;
  kind: 'operator' | 'ministry' | 'nco' | 'commission' | 'police' | 'sdf' | 'cabinet' | 'mofa' | 'council_member' | 'system_operator';
  sectors: string[];
}

/** Competent ministries (finance delegated to the FSA; water moved to MLIT in 2024) and the agencies of the pipeline. */
export const DEMO_ORGS: DemoOrg[] = [
  { name: 'Ministry of Economy, Trade and Industry', nameJa: '経済産業省', kind: 'ministry', sectors: ['electricity', 'gas', 'oil', 'credit_card'] },
  { name: 'Ministry of Land, Infrastructure, Transport and Tourism', nameJa: '国土交通省', kind: 'ministry', sectors: ['water', 'railway', 'trucking', 'aviation', 'airport', 'ocean_shipping', 'port'] },
  { name: 'Ministry of Internal Affairs and Communications', nameJa: '総務省', kind: 'ministry', sectors: ['telecommunications', 'broadcasting', 'postal'] },
  { name: 'Financial Services Agency', nameJa: '金融庁', kind: 'ministry', sectors: ['finance'] },
  { name: 'National Cybersecurity Office', nameJa: '国家サイバー統括室', kind: 'nco', sectors: [] },
  { name: 'Cyber Communications Information Supervisory Commission', nameJa: 'サイバー通信情報監理委員会', kind: 'commission', sectors: [] },
  { name: 'National Police Agency', nameJa: '警察庁', kind: 'police', sectors: [] },
  { name: 'JSDF Cyber Defense Command', nameJa: '自衛隊サイバー防衛隊', kind: 'sdf', sectors: [] },
  { name: 'Cabinet Office', nameJa: '内閣府', kind: 'cabinet', sectors: [] },
  { name: 'Ministry of Foreign Affairs', nameJa: '外務省', kind: 'mofa', sectors: [] },
  { name: 'Sakura Information Sharing Council Member Bank', nameJa: 'さくら銀行（協議会構成員）', kind: 'council_member', sectors: ['finance'] },
  { name: 'mamori System Operations', nameJa: 'mamori 運用担当', kind: 'system_operator', sectors: [] },
  // Designated operators (fictional names) across sectors.
  { name: 'Kanto Electric Power Co.', nameJa: '関東電力株式会社', kind: 'operator', sectors: ['electricity'] },
  { name: 'Tokai City Gas Co.', nameJa: '東海都市ガス株式会社', kind: 'operator', sectors: ['gas'] },
  { name: 'Nishi-Nihon Railway Co.', nameJa: '西日本鉄道株式会社', kind: 'operator', sectors: ['railway'] },
  { name: 'Nippon Telecom Corp.', nameJa: '日本テレコム株式会社', kind: 'operator', sectors: ['telecommunications'] },
  { name: 'Sakura Bank Ltd.', nameJa: '株式会社さくら銀行', kind: 'operator', sectors: ['finance'] },
  { name: 'Haneda Airport Terminal Co.', nameJa: '羽田空港ターミナル株式会社', kind: 'operator', sectors: ['airport'] },
];

/** A demo login. */
export interface DemoUser {
  username: string;
  displayName: string;
  role: Role;
  org: string;
  password: string;
}

/** One user per role; passwords are for the demo only and printed at start. */
export const DEMO_USERS: DemoUser[] = [
  { username: 'operator', displayName: '佐藤 花子 (Kanto Electric SOC)', role: 'operator', org: 'Kanto Electric Power Co.', password: 'demo-operator-pass' },
  { username: 'operator-gas', displayName: '森 拓也 (Tokai City Gas CSIRT)', role: 'operator', org: 'Tokai City Gas Co.', password: 'demo-operator-gas-pass' },
  { username: 'ministry', displayName: '鈴木 一郎 (METI)', role: 'ministry', org: 'Ministry of Economy, Trade and Industry', password: 'demo-ministry-pass' },
  { username: 'analyst', displayName: '高橋 美咲 (NCO analyst)', role: 'analyst', org: 'National Cybersecurity Office', password: 'demo-analyst-pass' },
  { username: 'director', displayName: '田中 健 (NCO director)', role: 'nco_director', org: 'National Cybersecurity Office', password: 'demo-director-pass' },
  { username: 'chair', displayName: '伊藤 直子 (Commission chair)', role: 'commissioner', org: 'Cyber Communications Information Supervisory Commission', password: 'demo-chair-pass' },
  { username: 'commissioner1', displayName: '渡辺 誠 (Commissioner)', role: 'commissioner', org: 'Cyber Communications Information Supervisory Commission', password: 'demo-commissioner1-pass' },
  { username: 'commissioner2', displayName: '山本 恵 (Commissioner)', role: 'commissioner', org: 'Cyber Communications Information Supervisory Commission', password: 'demo-commissioner2-pass' },
  { username: 'commissioner3', displayName: '井上 隆 (Commissioner)', role: 'commissioner', org: 'Cyber Communications Information Supervisory Commission', password: 'demo-commissioner3-pass' },
  { username: 'commissioner4', displayName: '木村 由美 (Commissioner)', role: 'commissioner', org: 'Cyber Communications Information Supervisory Commission', password: 'demo-commissioner4-pass' },
  { username: 'police', displayName: '中村 翔 (NPA cyber)', role: 'police', org: 'National Police Agency', password: 'demo-police-pass' },
  { username: 'sdf', displayName: '小林 大輔 (JSDF cyber)', role: 'sdf', org: 'JSDF Cyber Defense Command', password: 'demo-sdf-pass' },
  { username: 'pm-delegate', displayName: '加藤 (PM delegate)', role: 'prime_minister', org: 'Cabinet Office', password: 'demo-pm-pass' },
  { username: 'mofa', displayName: '吉田 (MOFA liaison)', role: 'foreign_ministry', org: 'Ministry of Foreign Affairs', password: 'demo-mofa-pass' },
  { username: 'council', displayName: '山田 (Council member)', role: 'council_member', org: 'Sakura Information Sharing Council Member Bank', password: 'demo-council-pass' },
  { username: 'admin', displayName: 'System administrator', role: 'admin', org: 'mamori System Operations', password: 'demo-admin-pass' },
];
