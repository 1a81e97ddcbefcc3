/** @module Takedown notices to a hosting network's abuse contact, in Japanese and English, as plain-text mail the executing agency sends. */
import type { Measure } from './schema.js';

/** The languages notices are written in. */
export const NOTICE_LANGUAGES = ['ja', 'en'] as const;
/** One notice language. */
export type NoticeLanguage = (typeof NOTICE_LANGUAGES)[number];

const SENDER: Record<Measure['agency'], { ja: string; en: string }> = {
  police: { ja: '警察庁 サイバー警察局', en: 'National Police Agency, Cyber Affairs Bureau (Japan)' },
  sdf: { ja: '防衛省 自衛隊サイバー防衛隊', en: 'Japan Self-Defense Forces Cyber Defense Command' },
};

/**
 * Renders the takedown notice of a `takedown_notice` measure: to the hosting network's abuse contact,
 * naming the resources and the measure's reference, asking for takedown and preservation of evidence.
 * Undefined for other kinds.
 * @see Police Duties Execution Act Art. 6-2
 */
export function renderTakedownNotice(m: Measure, lang: NoticeLanguage): { subject: string; to: string; body: string } | undefined {
  if (m.kind !== 'takedown_notice' || !('hostingNetwork' in m.target)) return undefined;
  const t = m.target;
  const resources = [...t.addresses, ...t.domains, ...t.urls].map((r) => `  - ${r.replace(/\./g, '[.]').replace(/^http/, 'hxxp')}`);
  const asn = t.hostingNetwork.asn === undefined ? '' : ` (AS${t.hostingNetwork.asn})`;
  const sender = SENDER[m.agency];
  if (lang === 'ja') {
    return {
      to: t.hostingNetwork.abuseContact,
      subject: `【テイクダウン依頼】貴ネットワーク上の攻撃用サーバについて（参照番号 ${m.id}）`,
      body: [
        `${t.hostingNetwork.name}${asn} 不正利用対応窓口 御中`,
        '',
        `${sender.ja}です。`,
        '貴ネットワークで運用されている以下の資源が、日本国内の重要な電子計算機に対するサイバー攻撃に用いられていることを確認しました。',
        '',
        ...resources,
        '',
        '利用規約に基づき、当該資源の停止（テイクダウン）をお願いいたします。',
        'あわせて、関連するログ等の証拠の保全にご協力ください。',
        '対応の結果は、本メールに参照番号を付して返信してください。',
        '',
        `参照番号: ${m.id}`,
        `送信者: ${sender.ja}`,
        '',
        '（注）アドレス等は誤操作防止のため [.] で表記しています。',
      ].join('\n'),
    };
  }
  return {
    to: t.hostingNetwork.abuseContact,
    subject: `Takedown request: attack infrastructure on your network (ref. ${m.id})`,
    body: [
      `To the abuse team of ${t.hostingNetwork.name}${asn},`,
      '',
      `This is the ${sender.en}.`,
      'We have established that the following resources on your network are being used in cyber attacks against important computer systems in Japan:',
      '',
      ...resources,
      '',
      'We ask you to take these resources down under your acceptable use policy,',
      'and to preserve the related logs and other evidence.',
      'Please reply to this message, quoting the reference below, to tell us what was done.',
      '',
      `Reference: ${m.id}`,
      `Sender: ${sender.en}`,
      '',
      '(Addresses are defanged with [.] to prevent accidental use.)',
    ].join('\n'),
  };
}
