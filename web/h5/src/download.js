// Downloading the filled 申报表 (PDF). The request carries the Bearer token, so
// it is fetched and handed to the browser as a file. WeChat's built-in browser
// may refuse downloads: the page then tells the worker to open it in a browser.
import { api } from './api.js';

export function inWeChat() {
  return /MicroMessenger/i.test(navigator.userAgent || '');
}

// The server's name for the file (program title, 申报表, the applicant's name).
function serverName(res) {
  const m = /filename\*=UTF-8''([^;]+)/i.exec(res.headers.get('content-disposition') || '');
  try {
    return m ? decodeURIComponent(m[1]) : '';
  } catch {
    return '';
  }
}

export async function downloadPdf(id, name) {
  const res = await api.pdf(id);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = serverName(res) || name || '申报表-' + id + '.pdf';
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
