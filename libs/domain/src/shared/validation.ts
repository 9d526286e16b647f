import type { FieldError } from './errors';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Emails are compared trimmed and lower-cased (rule 6). */
export const normalizeEmail = (raw: string): string => raw.trim().toLowerCase();

export const checkEmail = (field: string, raw: unknown): FieldError | undefined => {
  if (typeof raw !== 'string') return { field, message: 'must be an email address' };
  const email = normalizeEmail(raw);
  if (email.length === 0 || email.length > 254 || !EMAIL.test(email))
    return { field, message: 'must be a valid email address' };
  return undefined;
};

export const checkText = (field: string, raw: unknown, max: number, allowEmpty = false): FieldError | undefined => {
  if (typeof raw !== 'string') return { field, message: 'must be text' };
  const trimmed = raw.trim();
  if (!allowEmpty && trimmed.length === 0) return { field, message: 'must not be empty' };
  if (trimmed.length > max) return { field, message: `must be at most ${max} characters` };
  return undefined;
};

export const checkUrl = (field: string, raw: unknown): FieldError | undefined => {
  if (typeof raw !== 'string') return { field, message: 'must be a URL' };
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      return { field, message: 'must be an http(s) URL' };
  } catch {
    return { field, message: 'must be a valid URL' };
  }
  return raw.length > 2048 ? { field, message: 'must be at most 2048 characters' } : undefined;
};
