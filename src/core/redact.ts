/**
 * Removes credentials from text that may reach a message or a log: userinfo
 * in URLs, query parameters that carry secrets, and Authorization values.
 */
export function redact(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1<redacted>@')
    .replace(
      /([?&](?:access_token|token|refresh_token|password|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|code)=)[^&\s#"']*/gi,
      '$1<redacted>'
    )
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, '$1 <redacted>');
}
