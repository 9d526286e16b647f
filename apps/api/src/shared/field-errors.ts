// class-validator's errors as the fields at fault, each with one sentence: the API's 400s (app.module.ts) and the
// audit CLI's check of a proof file (apps/audit-cli/src/proofs.ts) name them alike.
import { type ValidationError, ValidationTypes } from 'class-validator';
import type { FieldError } from '@rollcall/domain';

/** class-validator's type checks: when one fails, the field's other constraints (bounds, sizes) say nothing more */
const TYPE_CONSTRAINTS = new Set(['isArray', 'isString', 'isInt', 'isNumber', 'isObject', 'isBoolean']);

/** every field at fault (nested ones as `a.b`), with what is wrong with it */
export const fieldErrors = (errors: ValidationError[], prefix = ''): FieldError[] =>
  errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    // a missing field fails every constraint of its type and bounds: "is required" says what to do
    if (e.value === undefined && e.constraints && !(ValidationTypes.WHITELIST in e.constraints)) return [{ field, message: 'is required' }];
    // a value of the wrong type fails its bounds too ("no more than 10 elements" for a string): its type is the news
    const constraints = e.constraints ?? {};
    // an unknown field or parameter: class-validator's "property x should not exist" read as "x property x should not exist"
    if (ValidationTypes.WHITELIST in constraints) return [{ field, message: 'is not allowed' }];
    const wrongType = Object.keys(constraints).filter((name) => TYPE_CONSTRAINTS.has(name));
    const own = (wrongType.length > 0 ? wrongType.map((name) => constraints[name]!) : Object.values(constraints)).map((message) => ({
      field,
      message: message.startsWith(e.property) ? message.slice(e.property.length).trim() : message,
    }));
    return [...own, ...fieldErrors(e.children ?? [], field)];
  });
