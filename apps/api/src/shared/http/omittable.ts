import { ValidateIf } from 'class-validator';

/**
 * A body field that may be left out. Unlike class-validator's `IsOptional`, which takes `null` as left out, a `null`
 * here is a value, refused by the field's own checks: the OpenAPI schema does not allow it (an integrator's
 * `"grants": null` was taken silently: black-box probe 9). Fields documented `nullable` (a profile's alias and avatar,
 * where null removes them) keep `IsOptional`.
 */
export const Omittable = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);
