/** @module A filing receipt as a printable page (Japanese and English on one sheet, PDF through the browser's print): the receipt's facts, its signed bytes and how anyone can check the signature with OpenSSL. */
import { canonicalize } from '#modules/audit/index.js';
import type { Receipt } from './receipts.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** A shell single-quoted word: the commands on the page can be pasted as they are. */
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A UTC time as JST (`2026/04/10 09:00:00 JST`), beside the UTC value the receipt signs. */
function jst(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${new Date(d.getTime() + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ').replace(/-/g, '/')} JST`;
}

/** The bytes the signature covers: the receipt without `signature`, as RFC 8785 canonical JSON. */
export function signedBytes(receipt: Receipt): string {
  const { signature: _signature, ...unsigned } = receipt;
  return canonicalize(unsigned as never);
}

/** The OpenSSL commands that check a receipt's Ed25519 signature against the reporting key (SPKI DER, base64). @see RFC 8032 §5.1.7 */
export function verifyCommands(receipt: Receipt, publicKey: string): string {
  return [
    `printf '%s' ${shq(publicKey)} | base64 -d | openssl pkey -pubin -inform DER -out receipt-key.pem`,
    `printf '%s' ${shq(signedBytes(receipt))} > receipt-signed.json`,
    `printf '%s' ${shq(receipt.signature)} | base64 -d > receipt.sig`,
    'openssl pkeyutl -verify -pubin -inkey receipt-key.pem -rawin -in receipt-signed.json -sigfile receipt.sig',
  ].join('\n');
}

/** The printable receipt page (no script; a print stylesheet drops the download link and keeps each block on one page). */
export function renderReceiptHtml(input: { receipt: Receipt; publicKey: string; operator: { name: string; nameJa: string | null } | null }): string {
  const { receipt: r, publicKey } = input;
  const subject = r.subjectType === 'notification'
    ? ['特定重要電子計算機の届出', 'Notification of a specified important computer']
    : [`インシデント報告 第 ${esc(r.subjectId.split('#')[1] ?? '?')} 版`, `Incident report, version ${esc(r.subjectId.split('#')[1] ?? '?')}`];
  const recipients = r.recipients.map((x) => (x === 'nco' ? '内閣サイバー官 (NCO)' : x.startsWith('ministry:') ? `所管省庁 / competent ministry (${esc(x.slice('ministry:'.length))})` : esc(x))).join('、');
  const operator = input.operator === null ? '—' : `${esc(input.operator.nameJa ?? input.operator.name)}${input.operator.nameJa !== null ? ` <span lang="en">${esc(input.operator.name)}</span>` : ''}`;
  const row = (ja: string, en: string, value: string) => `<tr><th scope="row">${ja}<br><span lang="en">${en}</span></th><td>${value}</td></tr>`;
  return `<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>受領証 Receipt ${esc(r.receiptId)}</title>
<style>
body{font-family:"Noto Sans JP","Hiragino Sans",sans-serif;margin:2em auto;max-width:50em;padding:0 1em;color:#111}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}span[lang=en]{color:#555;font-size:.85em}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.35em .6em;text-align:left;vertical-align:top}th{background:#f3f3f3;width:14em}
code,pre{font-family:ui-monospace,monospace;word-break:break-all}pre{white-space:pre-wrap;background:#f7f7f7;padding:.6em;font-size:.8em}
.actions{margin:1em 0}.actions a{margin-right:1em}
@media print{body{margin:0;max-width:none}.actions{display:none}section,table,pre{break-inside:avoid}a{color:inherit;text-decoration:none}}
</style></head><body>
<h1>受領証<br><span lang="en">Filing receipt</span></h1>
<p class="actions"><a href="?format=json" download="receipt-${esc(r.receiptId)}.json">署名付き JSON をダウンロード <span lang="en">Download the signed JSON</span></a>
印刷（PDF 保存）はブラウザの印刷から。<span lang="en">Print or save as PDF from the browser's print menu.</span></p>
<table>
${row('対象', 'Subject', `${subject[0]}<br><span lang="en">${subject[1]}</span>`)}
${row('事業者', 'Operator', operator)}
${row('提出日時', 'Filed at', `${esc(jst(r.filedAt))}<br><code>${esc(r.filedAt)}</code> (UTC)`)}
${row('届け先', 'Delivered to', recipients)}
${row('提出内容の SHA-256', 'SHA-256 of the filing', `<code>${esc(r.sha256)}</code><br>${esc(r.canonicalization)}`)}
${row('受領証番号', 'Receipt number', `<code>${esc(r.receiptId)}</code>`)}
${row('署名', 'Signature', `${esc(r.algorithm)}, 鍵 / key <code>${esc(r.keyId)}</code><br><code>${esc(r.signature)}</code>`)}
</table>
<section><h2>署名の確かめ方<br><span lang="en">How to verify the signature</span></h2>
<p>署名は、この受領証から <code>signature</code> を除いた内容の RFC 8785 正規化 JSON（下の「署名された内容」）に対する Ed25519 署名です。
提出した内容の正規化 JSON の SHA-256 が上の値と一致すれば、この受領証はその提出を受け付けたことを示します。<br>
<span lang="en">The signature is Ed25519 over the receipt without <code>signature</code>, as RFC 8785 canonical JSON (the signed content below).
If the SHA-256 of your filing's canonical JSON equals the value above, this receipt acknowledges that filing.</span></p>
<h3>署名された内容 <span lang="en">Signed content</span></h3>
<pre>${esc(signedBytes(r))}</pre>
<h3>公開鍵（SPKI DER, base64） <span lang="en">Public key (SPKI DER, base64)</span></h3>
<pre>${esc(publicKey)}</pre>
<h3>OpenSSL 3 で確かめる <span lang="en">Check with OpenSSL 3</span></h3>
<p>次のコマンドを端末に貼り付けると、最後に <code>Signature Verified Successfully</code> と表示されます。<br>
<span lang="en">Paste these commands into a terminal; the last prints <code>Signature Verified Successfully</code>.</span></p>
<pre>${esc(verifyCommands(r, publicKey))}</pre>
</section>
</body></html>
`;
}
