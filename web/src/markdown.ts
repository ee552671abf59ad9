// Message Markdown to safe HTML: markdown-it with raw HTML disabled, then DOMPurify, so nothing a
// user types can run script or restyle the page. Links open in a new tab without a referrer.

import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';

const markdown = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });
markdown.disable(['image', 'heading', 'lheading', 'hr']);

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

const ALLOWED_TAGS = ['a', 'p', 'br', 'strong', 'em', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td'];

/** Renders message Markdown to sanitised HTML. */
export function renderMarkdown(source: string): string {
  return DOMPurify.sanitize(markdown.render(source), { ALLOWED_TAGS, ALLOWED_ATTR: ['href', 'target', 'rel'] });
}
