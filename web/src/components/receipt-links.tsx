// A filing receipt's two forms: the printable page (opens in a new tab; PDF through the browser's print) and the signed JSON.
import { useI18n } from '../i18n/index.js';

export function ReceiptLinks({ id, download }: { id: string; download: string }) {
  const { t } = useI18n();
  const path = `/api/v1/receipts/${encodeURIComponent(id)}`;
  return (
    <span className="receipt-links">
      <a href={`${path}?format=html`} target="_blank" rel="noopener">{t('receipt.print')}</a>
      <a href={path} download>{download}</a>
    </span>
  );
}
